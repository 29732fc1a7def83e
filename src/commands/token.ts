/**
 * `kubestrap token create|list|delete|generate`: kubeadm's bootstrap-token commands, with its
 * output and checks, over admin.conf (`--kubeconfig`, default /etc/kubernetes/admin.conf under
 * --rootfs). `create --print-join-command` prints the join command init prints, on one line as
 * kubeadm does, with the pin of the CA in the kubeconfig. Bad input fails before anything is sent.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { DEFAULT_TOKEN_GROUPS, DEFAULT_TOKEN_TTL, DEFAULT_TOKEN_USAGES } from '../config/defaults.js';
import type { BootstrapToken } from '../config/types.js';
import { validateBootstrapToken } from '../config/validate.js';
import { KUBECONFIG_FILES, KUBERNETES_DIR } from '../constants.js';
import { ConfigError, HostError } from '../errors.js';
import { Host } from '../host/host.js';
import { bootstrapTokenSecret, bootstrapTokenSecretName, generateToken, parseToken, tokenFromSecret } from '../kube/bootstrap-token.js';
import { kubeClient } from '../kube/client.js';
import { caCertHash } from '../kube/discovery.js';
import { apiTokenStore, type TokenStore } from '../kube/token-store.js';
import { loadKubeconfig } from '../kubeconfig/load.js';
import { joinCommand } from '../phases/init/show-join-command.js';
import { tokenTable } from './token-table.js';

const TOKEN_ID_PATTERN = /^[a-z0-9]{6}$/;
/** The two forms `delete` takes, as kubeadm's message names them. */
const TOKEN_FORMS = '"[a-z0-9]{6}.[a-z0-9]{16}" or "[a-z0-9]{6}"';
const CERTIFICATE_KEY_PATTERN = /^[0-9a-f]{64}$/i;

interface CommonFlags {
  kubeconfig?: string;
  dryRun?: boolean;
  rootfs?: string;
}

export interface CreateFlags extends CommonFlags {
  printJoinCommand?: boolean;
  ttl?: string;
  usages?: string[];
  groups?: string[];
  description?: string;
  certificateKey?: string;
}

/** Where `token` output goes (stdout in the CLI, a list in tests). */
export type Write = (text: string) => void;

/** The kubeconfig `token` uses: --kubeconfig as given, else admin.conf under --rootfs. */
function kubeconfigOf(flags: CommonFlags): { host: Host; file: string } {
  if (flags.kubeconfig !== undefined) return { host: new Host('/'), file: path.resolve(flags.kubeconfig) };
  return { host: new Host(flags.rootfs ?? '/'), file: path.posix.join(KUBERNETES_DIR, KUBECONFIG_FILES.admin) };
}

async function storeFor(flags: CommonFlags): Promise<TokenStore> {
  const { host, file } = kubeconfigOf(flags);
  if (!(await host.exists(file)))
    throw new HostError('does not exist', { file: host.path(file), hint: 'pass --kubeconfig, or --rootfs of a control-plane node' });
  return apiTokenStore(await kubeClient(file, host));
}

/** `--usages`/`--groups`: repeatable and comma-separated, as pflag's StringSlice. */
const collect = (value: string, previous: string[] | undefined): string[] => [
  ...(previous ?? []),
  ...value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
];

/** The token `create` would write, checked as kubeadm checks it; errors name the flag. */
export function tokenToCreate(tokenArg: string | undefined, flags: CreateFlags): BootstrapToken {
  const token: BootstrapToken = {
    token: tokenArg ?? generateToken(),
    ttl: flags.ttl ?? DEFAULT_TOKEN_TTL,
    usages: flags.usages ?? [...DEFAULT_TOKEN_USAGES],
    groups: flags.groups ?? [...DEFAULT_TOKEN_GROUPS],
    ...(flags.description ? { description: flags.description } : {}),
  };
  const flagOf: Readonly<Record<string, string>> = { token: '[token]', ttl: '--ttl', usages: '--usages', groups: '--groups' };
  validateBootstrapToken(token, (field) => ({ field: flagOf[field.replace(/\[\d+\]$/, '')] ?? field }));
  if (flags.certificateKey !== undefined) {
    if (!flags.printJoinCommand) throw new ConfigError('cannot use --certificate-key without --print-join-command', { field: '--certificate-key' });
    if (!CERTIFICATE_KEY_PATTERN.test(flags.certificateKey)) {
      throw new ConfigError('is not a certificate key', {
        field: '--certificate-key',
        hint: 'a certificate key is 64 hex characters, from "kubestrap init phase upload-certs --upload-certs"',
      });
    }
  }
  return token;
}

/** The join command for `token` on one line (kubeadm strips the line continuations), endpoint and CA from the kubeconfig. */
async function joinLine(flags: CreateFlags, token: string): Promise<string> {
  const { host, file } = kubeconfigOf(flags);
  const kc = await loadKubeconfig(host, file);
  if (!kc) throw new HostError('does not exist', { file: host.path(file), hint: 'pass --kubeconfig or --rootfs' });
  if (!kc.caPem) throw new HostError('no CA certificates found in kubeconfig', { file: kc.file });
  const command = joinCommand({
    endpoint: kc.server.replace(/^https:\/\//, ''),
    token,
    caHash: caCertHash(kc.caPem),
    controlPlane: flags.certificateKey !== undefined,
    certificateKey: flags.certificateKey,
  });
  return command.replaceAll('\\\n', '').replaceAll('\t', '');
}

/** kubeadm's dry-run line for a write it does not send. */
const dryRunLine = (verb: string): string => `[dryrun] Would perform action ${verb} on resource "secrets" in API group "core/v1"\n`;

export async function runCreate(tokenArg: string | undefined, flags: CreateFlags, store: () => Promise<TokenStore>, write: Write): Promise<void> {
  const token = tokenToCreate(tokenArg, flags);
  const secret = bootstrapTokenSecret(token);
  const s = await store();
  const { id } = parseToken(token.token)!;
  if (await s.exists(bootstrapTokenSecretName(id)))
    throw new ConfigError(`a token with id "${id}" already exists`, { field: '[token]', hint: 'delete it first or use another token' });
  // the join command is made first: a kubeconfig without a CA fails before the token exists
  const printed = flags.printJoinCommand ? await joinLine(flags, token.token) : token.token;
  if (flags.dryRun) write(`${dryRunLine('CREATE')}[dryrun] Attached object:\n${stringify(secret)}\n`);
  else await s.create(secret);
  write(`${printed}\n`);
}

export async function runList(store: () => Promise<TokenStore>, write: Write, warn: Write, now = Date.now()): Promise<void> {
  const tokens = [];
  for (const secret of await (await store()).list()) {
    try {
      tokens.push(tokenFromSecret(secret));
    } catch (err) {
      warn(`${(err as Error).message}\n`);
    }
  }
  write(tokenTable(tokens, now));
}

/** The Secret names of `delete`'s arguments (a token id or a whole token); checked before any is deleted. */
export function tokenIdsToDelete(args: readonly string[]): string[] {
  if (args.length === 0) {
    throw new ConfigError(`missing argument; 'token delete' is missing token of form ${TOKEN_FORMS}`);
  }
  return args.map((arg) => {
    const id = TOKEN_ID_PATTERN.test(arg) ? arg : parseToken(arg)?.id;
    if (!id) throw new ConfigError(`given token "${arg}" didn't match pattern ${TOKEN_FORMS}`, { field: '[token-value]' });
    return id;
  });
}

export async function runDelete(args: readonly string[], flags: CommonFlags, store: () => Promise<TokenStore>, write: Write): Promise<void> {
  const ids = tokenIdsToDelete(args);
  const s = await store();
  for (const id of ids) {
    if (flags.dryRun) write(`${dryRunLine('DELETE')}[dryrun] Resource name "${bootstrapTokenSecretName(id)}"\n`);
    else await s.delete(bootstrapTokenSecretName(id));
    write(`bootstrap token "${id}" deleted\n`);
  }
}

function common(cmd: Command): Command {
  return cmd
    .option('--kubeconfig <file>', 'the kubeconfig file to talk to the cluster with (default: /etc/kubernetes/admin.conf under --rootfs)')
    .option('--dry-run', 'do not change anything; print what would be sent')
    .option('--rootfs <dir>', 'read admin.conf under this directory');
}

export function registerToken(program: Command): void {
  const out: Write = (t) => void process.stdout.write(t);
  const err: Write = (t) => void process.stderr.write(t);
  const token = program.command('token').description('Manage bootstrap tokens');
  common(token.command('create [token]'))
    .description('Create a bootstrap token on the server (a random one unless [token] is given) and print it')
    .option('--print-join-command', "print the full 'kubestrap join' command for the token instead of the token alone")
    .option('--ttl <duration>', "how long the token is valid (e.g. 1s, 2m, 3h); '0' never expires", DEFAULT_TOKEN_TTL)
    .option('--usages <list>', `the ways the token can be used (repeatable, comma-separated; default ${DEFAULT_TOKEN_USAGES.join(',')})`, collect)
    .option('--groups <list>', `extra groups the token authenticates as (repeatable, comma-separated; default ${DEFAULT_TOKEN_GROUPS.join(',')})`, collect)
    .option('--description <text>', 'a human friendly description of how the token is used')
    .option('--certificate-key <key>', 'with --print-join-command: print the control-plane join command with this certificate key')
    .action(async (arg: string | undefined, flags: CreateFlags) => runCreate(arg, flags, () => storeFor(flags), out));
  common(token.command('list'))
    .description('List the bootstrap tokens on the server')
    .action(async (flags: CommonFlags) => runList(() => storeFor(flags), out, err));
  common(token.command('delete [token-value...]'))
    .description('Delete bootstrap tokens on the server, by token id or whole token')
    .action(async (args: string[], flags: CommonFlags) => runDelete(args, flags, () => storeFor(flags), out));
  token
    .command('generate')
    .description('Generate and print a bootstrap token, but do not create it on the server')
    .action(() => out(`${generateToken()}\n`));
}
