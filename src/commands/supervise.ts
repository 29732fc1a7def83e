/** `kubestrap supervise -- <command> [args]` (hidden): the restart-on-crash daemon join starts where systemd does not run. */
import type { Command } from 'commander';
import { supervise } from '../host/supervise.js';

export function registerSupervise(program: Command): void {
  program
    .command('supervise', { hidden: true })
    .description('Run a command and restart it when it exits, until SIGTERM (what join uses without systemd)')
    .option('--child-pid-file <file>', "where to write the command's pid")
    .argument('<command>')
    .argument('[args...]')
    .action(async (command: string, args: string[], flags: { childPidFile?: string }) => {
      await supervise({ command, args, childPidFile: flags.childPidFile });
    });
}
