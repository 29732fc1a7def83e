/**
 * A container's environment and argv with the kubelet's semantics: env values and fieldRefs,
 * `$(VAR)` expansion in command/args (`$$(VAR)` escapes), command replacing the entrypoint.
 */
import type { V1Container, V1EnvVar, V1Pod } from '@kubernetes/client-node';

export interface FieldValues {
  nodeIP?: string;
}

function fieldValue(pod: V1Pod, fieldPath: string, values: FieldValues): string {
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? 'default';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
    case 'status.podIP':
      return values.nodeIP ?? '';
    default: {
      const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
      if (m) return (m[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations)?.[m[2]!] ?? '';
      return '';
    }
  }
}

/** Expands `$(NAME)` from env; unknown names stay as written, `$$` escapes (kubelet expansion rules). */
export function expand(input: string, env: ReadonlyMap<string, string>): string {
  return input.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return name !== undefined && env.has(name) ? env.get(name)! : match;
  });
}

/** The container's own env, in order, each value expanded against the ones before it. */
export function containerEnv(pod: V1Pod, container: V1Container, values: FieldValues): Map<string, string> {
  const env = new Map<string, string>();
  for (const e of container.env ?? ([] as V1EnvVar[])) {
    if (e.valueFrom?.fieldRef) env.set(e.name, fieldValue(pod, e.valueFrom.fieldRef.fieldPath, values));
    else env.set(e.name, expand(e.value ?? '', env));
  }
  return env;
}

/** argv after the program: command[1..] + args, with `$(VAR)` expanded. */
export function containerArgs(container: V1Container, env: ReadonlyMap<string, string>): string[] {
  const rest = [...(container.command ?? []).slice(1), ...(container.args ?? [])];
  return rest.map((a) => expand(a, env));
}
