/**
 * `kubestrap init` and `kubestrap init phase <path>`: both resolve the same configuration and hand
 * it to the one workflow runner; the phase subcommands are generated from the phase tree.
 */
import type { Command } from 'commander';
import { resolveInitConfig } from '../config/resolve.js';
import { INIT_FLAGS, type InitFlags } from '../config/flags.js';
import type { RuntimeKind } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { Host } from '../host/host.js';
import { InitData } from '../phases/init/data.js';
import { INIT_PHASES } from '../phases/init/index.js';
import { consolePrinter, type Printer } from '../output.js';
import { Runner, type Phase } from '../phases/runner.js';
import { printDryRun } from './dry-run.js';

export const initRunner = new Runner<InitData>(INIT_PHASES);

export function addInitFlags(cmd: Command): Command {
  for (const f of INIT_FLAGS) cmd.option(f.flags, f.help);
  return cmd;
}

/** Builds the context every init phase gets; validates all input before anything is written. */
export async function initContext(flags: InitFlags, out: Printer = consolePrinter()): Promise<InitData> {
  const config = await resolveInitConfig(flags);
  const dryRun = flags.dryRun === true || config.init.dryRun;
  const host = new Host(flags.rootfs ?? '/', { dryRun });
  await host.checkRootfs();
  let runtime: RuntimeKind | undefined;
  if (flags.runtime !== undefined) {
    if (flags.runtime !== 'cri' && flags.runtime !== 'process') {
      throw new ConfigError(`"${flags.runtime}" is not a runtime`, { field: '--runtime', hint: 'use cri or process' });
    }
    runtime = flags.runtime;
  }
  return new InitData({ config, host, out, dryRun, runtime, uploadCerts: flags.uploadCerts === true });
}

async function runPhases(flags: InitFlags, only?: string): Promise<void> {
  const ctx = await initContext(flags);
  initRunner.checkPaths(ctx.config.skipPhases, '--skip-phases');
  await initRunner.run(ctx, { skip: ctx.config.skipPhases, only });
  if (ctx.dryRun) printDryRun(ctx.host, ctx.out);
}

export function registerInit(program: Command): void {
  const init = addInitFlags(
    program
      .command('init')
      .description('Run this command in order to set up the Kubernetes control plane')
      .addHelpText('after', `\nThe "init" command executes the following phases:\n${initRunner.describe()}\n`),
  ).action(async (flags: InitFlags) => runPhases(flags));

  const phaseCmd = init.command('phase').description('Use this command to invoke a single phase of the init workflow');
  const addPhase = (parent: Command, phase: Phase<InitData>, path: string): void => {
    const cmd = addInitFlags(parent.command(phase.name, { hidden: phase.hidden }).description(phase.description ?? phase.help));
    // `init` declares the same flags, so commander hands them to it, not to the phase: read them all.
    cmd.action(async (_flags: InitFlags, self: Command) => runPhases(self.optsWithGlobals<InitFlags>(), path));
    if (phase.phases?.length) {
      addInitFlags(cmd.command('all').description(`Run all ${phase.name} phases`)).action(async (_flags: InitFlags, self: Command) =>
        runPhases(self.optsWithGlobals<InitFlags>(), path),
      );
      for (const child of phase.phases) addPhase(cmd, child, `${path}/${child.name}`);
    }
  };
  for (const phase of INIT_PHASES) addPhase(phaseCmd, phase, phase.name);
}
