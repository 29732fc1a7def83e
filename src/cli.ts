/**
 * The kubestrap command line. Commands live in src/commands (one module each); the init phases
 * come from the workflow runner, which also generates `init phase <path>` for every phase.
 */
import { Command, CommanderError } from 'commander';
import { causeChain, KubestrapError } from './errors.js';
import type { RegisterCommand } from './commands/index.js';

/**
 * Commands that load only their own module. The agent is a daemon that runs for months: the full
 * command set would keep init's dependencies (@kubernetes/client-node, x509, handlebars, ≈ 70 MB of
 * RSS) in its memory for nothing; reset just starts faster. Every other command (and help) loads
 * all of them.
 */
const LEAN_COMMANDS: Readonly<Record<string, () => Promise<RegisterCommand>>> = {
  agent: async () => (await import('./commands/agent.js')).registerAgent,
  ps: async () => (await import('./commands/agent.js')).registerAgent,
  // reset stops the agent and its pods; it needs none of init's libraries (≈ 0.4 s to load)
  reset: async () => (await import('./commands/reset.js')).registerReset,
  // init is timed against starting etcd + kube-apiserver directly (bench:init): it skips the
  // image, agent and reset code (execa alone is ≈ 0.1 s)
  init: async () => (await import('./commands/init.js')).registerInit,
  // join is timed against kubeadm join (bench:join); the supervisor runs as long as the kubelet
  join: async () => (await import('./commands/join.js')).registerJoin,
  supervise: async () => (await import('./commands/supervise.js')).registerSupervise,
  // a daemon beside the kubelet, for months: the balancer, and client-node only for its watch
  lb: async () => (await import('./commands/lb.js')).registerLb,
};

/** The registrations needed for `argv` (node, script, command, ...). */
async function commandsFor(argv: readonly string[]): Promise<readonly RegisterCommand[]> {
  const lean = Object.hasOwn(LEAN_COMMANDS, argv[2] ?? '') ? LEAN_COMMANDS[argv[2]!] : undefined;
  if (lean) return [await lean()];
  return (await import('./commands/index.js')).COMMANDS;
}

export function buildProgram(commands: readonly RegisterCommand[]): Command {
  const program = new Command('kubestrap')
    .description('Bootstrap a Kubernetes control plane, kubeadm-style, with a built-in static-pod agent')
    .showHelpAfterError()
    .option('-v, --v <level>', 'log level verbosity; 5 or more also prints the cause chain of an error (as KUBESTRAP_DEBUG=1)')
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

/**
 * The first command word that names no command of a command group (`kubestrap upgrade --help`):
 * commander would answer `--help` with the parent's help and exit 0, as if the command existed.
 */
export function unknownCommand(program: Command, args: readonly string[]): { word: string; path: string; known: string[] } | undefined {
  let cmd = program;
  const path = [program.name()];
  for (const word of args) {
    if (word.startsWith('-')) continue;
    if (cmd.commands.length === 0) return undefined;
    const sub = cmd.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (sub) {
      cmd = sub;
      path.push(word);
      continue;
    }
    // a command with its own action takes arguments (`logs <pod>`); only a pure group has nothing else to offer
    const hasAction = (cmd as unknown as { _actionHandler: unknown })._actionHandler != null;
    if (hasAction || word === 'help') return undefined;
    return { word, path: path.join(' '), known: cmd.commands.map((c) => c.name()) };
  }
  return undefined;
}

/** kubeadm's `-v`/`--v` level from argv (read directly: an error can come before commander parsed it). */
export function verbosity(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): number {
  let level = env.KUBESTRAP_DEBUG === '1' || env.KUBESTRAP_DEBUG === 'true' ? 5 : 0;
  argv.forEach((arg, i) => {
    const m = /^--?v(?:=(\d+))?$/.exec(arg);
    if (!m) return;
    const value = Number(m[1] ?? argv[i + 1]);
    if (Number.isInteger(value)) level = Math.max(level, value);
  });
  return level;
}

/** At --v=5 and above: the cause chain under the one line, indented. */
function debugDetail(err: unknown, argv: readonly string[]): string {
  if (verbosity(argv) < 5) return '';
  const chain = causeChain(err).slice(1);
  return chain.length ? `${chain.map((l) => `\t${l}`).join('\n')}\n` : '';
}

/**
 * Runs the CLI; returns the exit code. User errors are one line on stderr, never a stack trace
 * (unless --v=5 asks for the cause chain).
 */
export async function main(argv: string[]): Promise<number> {
  try {
    const program = buildProgram(await commandsFor(argv));
    const unknown = unknownCommand(program, argv.slice(2));
    if (unknown) {
      process.stderr.write(`error: unknown command '${unknown.word}' for "${unknown.path}" (available: ${unknown.known.join(', ')})\n`);
      return 1;
    }
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its message (or help/version, exit code 0)
      return err.exitCode;
    }
    if (err instanceof KubestrapError) {
      const lead = err.phase ? `error execution phase ${err.phase}` : 'error';
      process.stderr.write(`${lead}: ${err.oneLine()}\n${debugDetail(err, argv)}`);
      return err.exitCode;
    }
    process.stderr.write(`internal error (please report): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 2;
  }
}
