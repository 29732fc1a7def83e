/**
 * The kubestrap command line. Commands live in src/commands (one module each); the init phases
 * come from the workflow runner, which also generates `init phase <path>` for every phase.
 */
import { Command, CommanderError } from 'commander';
import { KubestrapError } from './errors.js';
import { COMMANDS } from './commands/index.js';

export function buildProgram(): Command {
  const program = new Command('kubestrap')
    .description('Bootstrap a Kubernetes control plane, kubeadm-style, with a built-in static-pod agent')
    .showHelpAfterError()
    .exitOverride();
  for (const register of COMMANDS) register(program);
  return program;
}

/** Runs the CLI; returns the exit code. User errors are one line on stderr, never a stack trace. */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its message (or help/version, exit code 0)
      return err.exitCode;
    }
    if (err instanceof KubestrapError) {
      process.stderr.write(`error: ${err.oneLine()}\n`);
      return err.exitCode;
    }
    process.stderr.write(`internal error (please report): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 2;
  }
}
