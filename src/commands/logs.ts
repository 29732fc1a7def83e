/** `kubestrap logs <pod> [-c container] [--previous]`: prints a static pod's container log messages. */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { Host } from '../host/host.js';
import { findContainerLog, readMessages } from '../agent/index.js';

interface LogsFlags {
  container?: string;
  previous?: boolean;
  namespace?: string;
  rootfs?: string;
}

export function registerLogs(program: Command): void {
  program
    .command('logs')
    .description("Print the logs of a static pod's container (read from /var/log/pods, like kubectl logs)")
    .argument('<pod>', 'pod name: the full name (kube-apiserver-<node>) or the manifest name (kube-apiserver)')
    .option('-c, --container <name>', 'container name (needed when the pod has several)')
    .option('-p, --previous', 'print the logs of the previous instance of the container')
    .option('-n, --namespace <ns>', 'namespace (default: any)')
    .option('--rootfs <dir>', 'root of the host file system', '/')
    .action(async (pod: string, flags: LogsFlags) => {
      const host = new Host(flags.rootfs ?? '/');
      const file = await findContainerLog(host, { pod, namespace: flags.namespace, container: flags.container, previous: flags.previous });
      const messages = readMessages(await readFile(file, 'utf8'));
      if (messages.length) process.stdout.write(`${messages.join('\n')}\n`);
    });
}
