/** `kubestrap reset`: undo `kubestrap init` on this node (kubeadm reset's phases and flags). */
import type { Command } from 'commander';
import { Host } from '../host/host.js';
import { consolePrinter } from '../output.js';
import { DEFAULT_CERTIFICATES_DIR } from '../config/defaults.js';
import { RESET_PHASES, type ResetData } from '../phases/reset/index.js';
import { Runner } from '../phases/runner.js';

interface ResetFlags {
  force?: boolean;
  rootfs?: string;
  certDir?: string;
  skipPhases?: string;
}

export const resetRunner = new Runner<ResetData>(RESET_PHASES);

export function registerReset(program: Command): void {
  program
    .command('reset')
    .description('Performs a best effort revert of changes made to this host by "kubestrap init"')
    .addHelpText('after', `\nThe "reset" command executes the following phases:\n${resetRunner.describe()}\n`)
    .option('-f, --force', 'reset the node without asking for confirmation')
    .option('--rootfs <dir>', 'the --rootfs given to init')
    .option('--cert-dir <dir>', `directory of the certificates (default ${DEFAULT_CERTIFICATES_DIR})`)
    .option('--skip-phases <phases>', 'comma-separated phases to skip')
    .action(async (flags: ResetFlags) => {
      const host = new Host(flags.rootfs ?? '/');
      const skip = flags.skipPhases?.split(',').filter(Boolean) ?? [];
      const ctx: ResetData = {
        host,
        out: consolePrinter(),
        force: flags.force === true,
        certificatesDir: flags.certDir ?? DEFAULT_CERTIFICATES_DIR,
        input: process.stdin,
      };
      await resetRunner.run(ctx, { skip });
    });
}
