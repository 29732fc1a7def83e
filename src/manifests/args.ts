/**
 * kubeadm's component flag handling (cmd/kubeadm/app/util/arguments.go, apis/kubeadm/argument.go):
 * defaults are a list of {name, value}; v1beta4 `extraArgs` is an ordered list where a name replaces
 * every default instance of that flag.
 */
import type { Arg } from '../config/types.js';

/** The value of the LAST `name` in `args` (kubeadm's GetArgValue with startIdx -1). */
export function getArg(args: readonly Arg[], name: string): string | undefined {
  for (let i = args.length - 1; i >= 0; i--) if (args[i]!.name === name) return args[i]!.value;
  return undefined;
}

/** Sets the last instance of `name` (kubeadm's SetArgValues with nArgs 1), appending when absent. */
export function setArg(args: Arg[], name: string, value: string): Arg[] {
  for (let i = args.length - 1; i >= 0; i--) {
    if (args[i]!.name === name) {
      args[i] = { name, value };
      return args;
    }
  }
  args.push({ name, value });
  return args;
}

function compareArgs(a: Arg, b: Arg): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  if (a.value === b.value) return 0;
  return a.value < b.value ? -1 : 1;
}

/**
 * `--name=value` flags as kubeadm v1.34 builds them: the defaults sorted by name then value, minus
 * every default an override names, followed by the overrides in the order the user gave them
 * (v1beta4 extraArgs is ordered and may repeat a flag, so kubeadm keeps that order).
 */
export function argsToCommand(base: readonly Arg[], overrides: readonly Arg[]): string[] {
  const overridden = new Set(overrides.map((a) => a.name));
  const kept = [...base].sort(compareArgs).filter((a) => !overridden.has(a.name));
  return [...kept, ...overrides].map((a) => `--${a.name}=${a.value}`);
}
