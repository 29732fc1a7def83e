/**
 * `kubestrap certs renew <name>|all`: kubeadm's renewal (src/certs/renew.ts) with kubeadm's names and
 * lines, then — where kubeadm tells the operator to restart the four components by hand — the agent
 * restarts exactly the static pods that use a renewed file and the command lists them.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { KUBERNETES_DIR, MANIFESTS_DIR } from '../config/defaults.js';
import { parseDuration } from '../config/duration.js';
import { AgentClient, filesUsed, type RestartReport } from '../agent/index.js';
import { ConfigError, HostError, messageOf } from '../errors.js';
import { Host } from '../host/host.js';
import { clusterConfigFor } from '../kube/kubeadm-config.js';
import { outcomeLine, renewOne, type RenewOutcome } from '../certs/renew.js';
import { renewTargets, type RenewTarget } from '../certs/targets.js';

interface RenewFlags {
  config?: string;
  certDir?: string;
  rootfs?: string;
  dryRun?: boolean;
  restart?: boolean;
}

/** The targets `name` selects; an unknown name is one line listing the valid ones. */
export function selectTargets(name: string, all: readonly RenewTarget[]): RenewTarget[] {
  if (name === 'all') return [...all];
  const hit = all.find((t) => t.name === name);
  if (!hit) {
    throw new ConfigError(`unknown certificate "${name}"`, { hint: `valid names: ${[...all.map((t) => t.name), 'all'].join(', ')}` });
  }
  return [hit];
}

/** The lines of a restart report (what `certs renew` shows). */
export function restartLines(report: RestartReport, host: Host): string[] {
  const lines: string[] = [];
  for (const p of report.restarted) {
    const state = `running again after ${(p.runningMs / 1000).toFixed(1)}s, ${p.ready ? `ready after ${(p.ms / 1000).toFixed(1)}s` : `NOT ready after ${(p.ms / 1000).toFixed(0)}s`}`;
    const what = p.containers === 0 ? 'no container was running; it starts with the new files' : `${p.containers} container${p.containers > 1 ? 's' : ''}`;
    lines.push(`[restart] Restarted ${p.namespace}/${p.name} (${what}, ${state}): uses ${p.files.map((f) => host.path(f)).join(', ')}`);
  }
  if (report.restarted.length === 0) lines.push('[restart] No static pod uses the renewed files; nothing restarted');
  if (report.notRestarted.length > 0) {
    lines.push(`[restart] Not restarted because the pod before did not get ready: ${report.notRestarted.map((p) => `${p.namespace}/${p.name}`).join(', ')}`);
  }
  return lines;
}

/** The static pods of the manifest directory that use any of `files` (when the agent cannot say). */
async function manifestUsers(host: Host, files: readonly string[]): Promise<string[]> {
  const dir = host.path(MANIFESTS_DIR);
  const names = await readdir(dir).catch(() => [] as string[]);
  const users: string[] = [];
  for (const n of names.filter((f) => /\.(ya?ml|json)$/.test(f)).sort()) {
    try {
      const pod = parse(await readFile(path.join(dir, n), 'utf8')) as V1Pod;
      if (filesUsed(pod, files).length > 0) users.push(pod.metadata?.name ?? n);
    } catch {
      // a manifest that does not parse uses nothing we can tell
    }
  }
  return users;
}

async function askAgent(host: Host, files: string[]): Promise<RestartReport> {
  // restarts wait for every pod to get ready: allow as long as the agent itself allows (5 min per pod)
  return new AgentClient({ host }).restartUsing(files, 'certificates renewed (kubestrap certs renew)');
}

async function runRenew(name: string, flags: RenewFlags): Promise<void> {
  // a bad name fails before anything is read (the cluster may take seconds to answer)
  selectTargets(name, renewTargets(false));
  const dryRun = flags.dryRun === true;
  const host = new Host(flags.rootfs ?? '/', { dryRun });
  const cluster = await clusterConfigFor('renew', host, flags.config, (l) => process.stdout.write(l));
  const targets = selectTargets(name, renewTargets(cluster.etcd.external !== undefined));
  const opts = {
    pkiDir: flags.certDir ?? cluster.certificatesDir,
    kubernetesDir: KUBERNETES_DIR,
    certificateValidityMs: parseDuration(cluster.certificateValidityPeriod)!,
    // each new key keeps the type of the one it replaces (kubeadm takes the configured one)
    encryptionAlgorithm: flags.config !== undefined ? cluster.encryptionAlgorithm : undefined,
    start: new Date(),
  };
  const outcomes: RenewOutcome[] = [];
  for (const target of targets) {
    const outcome = await renewOne(host, target, opts);
    outcomes.push(outcome);
    process.stdout.write(`${outcomeLine(outcome, host, dryRun)}\n`);
  }
  const files = outcomes.flatMap((o) => (o.status === 'renewed' ? o.files : []));
  if (name === 'all') process.stdout.write('\nDone renewing certificates.\n');
  if (files.length === 0 || dryRun) return;
  if (flags.restart === false) {
    process.stdout.write('[restart] --no-restart: restart the static pods that use the renewed files yourself\n');
    return;
  }
  let report: RestartReport;
  try {
    report = await askAgent(host, files);
  } catch (err) {
    const users = await manifestUsers(host, files);
    throw new HostError(`the certificates are renewed, but the pods using them were not restarted: ${messageOf(err)}`, {
      hint: users.length
        ? `restart ${users.join(', ')} yourself (they use the renewed files), or start the agent and run "kubestrap certs renew" again`
        : 'no static pod in the manifest directory uses the renewed files',
    });
  }
  process.stdout.write(`${restartLines(report, host).join('\n')}\n`);
  if (report.restarted.some((p) => !p.ready)) {
    throw new HostError('a restarted pod did not get ready again', { hint: 'see `kubestrap ps` and `kubestrap logs <pod>`' });
  }
}

export function registerCertsRenew(certs: Command): void {
  const names = renewTargets(false).map((t) => t.name);
  certs
    .command('renew')
    .description('Renew certificates for a Kubernetes cluster, then restart exactly the static pods that use them')
    .argument('<name>', `what to renew: ${[...names, 'all'].join(', ')}`)
    .option('--config <file>', 'path to a kubeadm.k8s.io/v1beta4 configuration file')
    .option('--cert-dir <dir>', 'the path where certificates are stored (default /etc/kubernetes/pki)')
    .option('--rootfs <dir>', 'read and write every host path under this directory')
    .option('--dry-run', 'show what would be renewed; write nothing and restart nothing')
    .option('--no-restart', 'do not ask the agent to restart the pods that use the renewed files')
    .addHelpText(
      'after',
      '\nRenewals run unconditionally, regardless of certificate expiration date; subject, SANs and usages are\n' +
        'read from the existing certificate and it is signed by the existing CA. CAs and kubelet.conf are never\n' +
        'renewed. With a CA whose key is absent (external CA), the command names the file to renew instead.\n',
    )
    .action(async (name: string, flags: RenewFlags) => runRenew(name, flags));
}
