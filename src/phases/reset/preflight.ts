/** reset's preflight: the confirmation (skipped with --force). */
import { createInterface } from 'node:readline/promises';
import { ConfigError } from '../../errors.js';
import type { Phase } from '../runner.js';
import type { ResetData } from './data.js';

async function confirm(ctx: ResetData): Promise<void> {
  if (ctx.force) return;
  if (!ctx.input.isTTY) {
    throw new ConfigError('reset needs a confirmation and there is no terminal to ask', { hint: 'pass --force to reset without asking' });
  }
  ctx.out.text(`[reset] WARNING: Changes made to this host by 'kubestrap init' will be reverted.`);
  const rl = createInterface({ input: ctx.input, output: process.stdout });
  const answer = await rl.question('[reset] Are you sure you want to proceed? [y/N]: ');
  rl.close();
  if (!/^y(es)?$/i.test(answer.trim())) throw new ConfigError('aborted: nothing was changed');
}

export const resetPreflightPhase: Phase<ResetData> = {
  name: 'preflight',
  help: 'Run reset pre-flight checks (asks for confirmation unless --force)',
  run: confirm,
};
