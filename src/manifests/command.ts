/** The command line a static Pod runs, for callers that start the binary themselves (e2e, process runtime). */
import type { V1Pod } from '@kubernetes/client-node';
import type { Arg } from '../config/types.js';
import { ManifestError } from '../errors.js';

export interface ManifestCommand {
  /** The executable, e.g. `kube-apiserver`. */
  binary: string;
  /** Everything after it: `command[1:]` then `args`. */
  args: string[];
}

/** The first container's command + args, as the runtime would exec it. */
export function parseManifestCommand(pod: V1Pod): ManifestCommand {
  const container = pod.spec?.containers?.[0];
  const argv = [...(container?.command ?? []), ...(container?.args ?? [])];
  if (!container || argv.length === 0) {
    throw new ManifestError('the Pod has no container command', { field: 'spec.containers[0].command' });
  }
  return { binary: argv[0]!, args: argv.slice(1) };
}

/** `--name=value` flags back to {name, value} (a flag without `=` gets value ''), order kept. */
export function parseFlags(args: readonly string[]): Arg[] {
  return args
    .filter((a) => a.startsWith('--'))
    .map((a) => {
      const eq = a.indexOf('=');
      return eq < 0 ? { name: a.slice(2), value: '' } : { name: a.slice(2, eq), value: a.slice(eq + 1) };
    });
}
