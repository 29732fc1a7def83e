/**
 * `kubestrap logs <pod> [-c container] [--previous] [-f] [--tail N] [--timestamps] [--since D]`:
 * a static pod's container log read from /var/log/pods on this node (no API server needed), with
 * the kubelet API's reader (src/agent/kubelet-server/logs.ts), so it prints what `kubectl logs` would.
 */
import type { Command } from 'commander';
import { parseDuration } from '../config/duration.js';
import { ConfigError } from '../errors.js';
import { Host } from '../host/host.js';
import { findContainerLog } from '../agent/logs/find.js';
import { newerAttemptExists, streamLog, type LogOptions } from '../agent/kubelet-server/logs.js';

interface LogsFlags {
  container?: string;
  previous?: boolean;
  namespace?: string;
  rootfs?: string;
  follow?: boolean;
  tail?: string;
  timestamps?: boolean;
  since?: string;
}

function logOptions(flags: LogsFlags): LogOptions {
  let tailLines: number | undefined;
  if (flags.tail !== undefined && flags.tail !== '-1') {
    tailLines = Number(flags.tail);
    if (!Number.isInteger(tailLines) || tailLines < 0) throw new ConfigError(`"${flags.tail}" is not a number of lines`, { field: '--tail' });
  }
  let sinceMs: number | undefined;
  if (flags.since !== undefined) {
    const ms = parseDuration(flags.since);
    if (ms === undefined) throw new ConfigError(`"${flags.since}" is not a duration`, { field: '--since', hint: 'e.g. 10s, 5m, 1h' });
    sinceMs = Date.now() - ms;
  }
  return { follow: flags.follow === true, previous: flags.previous === true, timestamps: flags.timestamps === true, tailLines, sinceMs, stream: 'All' };
}

export function registerLogs(program: Command): void {
  program
    .command('logs')
    .description("Print the logs of a static pod's container (read from /var/log/pods, like kubectl logs)")
    .argument('<pod>', 'pod name: the full name (kube-apiserver-<node>) or the manifest name (kube-apiserver)')
    .option('-c, --container <name>', 'container name (needed when the pod has several)')
    .option('-p, --previous', 'print the logs of the previous instance of the container')
    .option('-f, --follow', 'keep printing new lines until this instance of the container ends')
    .option('--tail <lines>', 'lines of recent log to print (-1: all)')
    .option('--timestamps', 'prefix every line with its RFC 3339 time')
    .option('--since <duration>', 'only lines newer than this, e.g. 5s, 2m, 3h')
    .option('-n, --namespace <ns>', 'namespace (default: any)')
    .option('--rootfs <dir>', 'root of the host file system', '/')
    .action(async (pod: string, flags: LogsFlags) => {
      const opts = logOptions(flags);
      const host = new Host(flags.rootfs ?? '/');
      const file = await findContainerLog(host, { pod, namespace: flags.namespace, container: flags.container, previous: flags.previous });
      let open = true;
      process.stdout.on('close', () => (open = false));
      await streamLog(file, opts, { write: (text) => process.stdout.write(text), open: () => open, attemptOver: () => newerAttemptExists(file) });
    });
}
