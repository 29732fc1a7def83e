/**
 * Pod and container → CRI configs, the way the kubelet's kuberuntime builds them (labels.go,
 * kuberuntime_sandbox.go, kuberuntime_container.go), so `crictl ps`/`ctr` users see the same names,
 * labels and annotations as on a kubelet node. Pure functions: host-side preparation (directories,
 * hostPath sources) lives in ./volumes.ts.
 */
import type { V1Container, V1Pod, V1PodSecurityContext, V1SeccompProfile, V1SecurityContext } from '@kubernetes/client-node';
import { containerEnv, expand, type FieldValues } from '../process/env.js';
import type { ContainerConfig, Input, Mount, NamespaceOption, PodSandboxConfig, SecurityProfile } from '../../../cri/client.js';
import type { RuntimePod } from '../types.js';
import { hashContainer } from './hash.js';
import { containerResources } from './resources.js';

/** Label the agent puts on its sandboxes and containers; listManaged() selects on it. */
export const OWNER_LABEL = 'io.kubestrap.agent';

export const POD_NAME_LABEL = 'io.kubernetes.pod.name';
export const POD_NAMESPACE_LABEL = 'io.kubernetes.pod.namespace';
export const POD_UID_LABEL = 'io.kubernetes.pod.uid';
export const CONTAINER_NAME_LABEL = 'io.kubernetes.container.name';

/** Annotations (not labels) in the kubelet, see kuberuntime/labels.go. */
const ANN = {
  hash: 'io.kubernetes.container.hash',
  restartCount: 'io.kubernetes.container.restartCount',
  terminationMessagePath: 'io.kubernetes.container.terminationMessagePath',
  terminationMessagePolicy: 'io.kubernetes.container.terminationMessagePolicy',
  terminationGrace: 'io.kubernetes.pod.terminationGracePeriod',
  deletionGrace: 'io.kubernetes.pod.deletionGracePeriod',
  preStop: 'io.kubernetes.container.preStopHandler',
  ports: 'io.kubernetes.container.ports',
} as const;

/** Host path (without rootfs) of a pod's log directory, as the kubelet lays it out. */
export function podLogDirectory(pod: RuntimePod): string {
  return `/var/log/pods/${pod.namespace}_${pod.name}_${pod.uid}`;
}

export function namespaceOptions(pod: V1Pod): Input<NamespaceOption> {
  const spec = pod.spec;
  return {
    network: spec?.hostNetwork ? 'NODE' : 'POD',
    pid: spec?.hostPID ? 'NODE' : spec?.shareProcessNamespace ? 'POD' : 'CONTAINER',
    ipc: spec?.hostIPC ? 'NODE' : 'POD',
  };
}

function seccomp(profile: V1SeccompProfile | undefined): Input<SecurityProfile> {
  switch (profile?.type) {
    case 'RuntimeDefault':
      return { profileType: 'RuntimeDefault' };
    case 'Localhost':
      return { profileType: 'Localhost', localhostRef: profile.localhostProfile ?? '' };
    case 'Unconfined':
      return { profileType: 'Unconfined' };
    default:
      // No profile asked for: the kubelet (seccompDefault=false) runs unconfined.
      return { profileType: 'Unconfined' };
  }
}

function int64Value(v: number | undefined): { value: number } | undefined {
  return v === undefined ? undefined : { value: v };
}

export function podLabels(pod: RuntimePod, nodeName: string): Record<string, string> {
  return {
    ...(pod.pod.metadata?.labels ?? {}),
    [POD_NAME_LABEL]: pod.name,
    [POD_NAMESPACE_LABEL]: pod.namespace,
    [POD_UID_LABEL]: pod.uid,
    [OWNER_LABEL]: nodeName,
  };
}

export interface SandboxOptions {
  nodeName: string;
  attempt: number;
  /** Real (rootfs-prefixed) log directory. */
  logDirectory: string;
  cgroupParent: string;
}

export function sandboxConfig(pod: RuntimePod, opts: SandboxOptions): Input<PodSandboxConfig> {
  const spec = pod.pod.spec;
  const psc: V1PodSecurityContext = spec?.securityContext ?? {};
  const privileged = [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])].some((c) => c.securityContext?.privileged === true);
  return {
    metadata: { name: pod.name, uid: pod.uid, namespace: pod.namespace, attempt: opts.attempt },
    // The kubelet sets a hostname only for pods with their own network namespace.
    hostname: spec?.hostNetwork ? '' : (spec?.hostname ?? pod.name),
    logDirectory: opts.logDirectory,
    labels: podLabels(pod, opts.nodeName),
    annotations: { ...(pod.pod.metadata?.annotations ?? {}) },
    linux: {
      cgroupParent: opts.cgroupParent,
      securityContext: {
        namespaceOptions: namespaceOptions(pod.pod),
        privileged,
        runAsUser: int64Value(psc.runAsUser),
        runAsGroup: int64Value(psc.runAsGroup),
        supplementalGroups: psc.supplementalGroups ?? [],
        seccomp: seccomp(psc.seccompProfile),
      },
      sysctls: Object.fromEntries((psc.sysctls ?? []).map((s) => [s.name, s.value])),
    },
  };
}

function containerAnnotations(pod: V1Pod, container: V1Container, attempt: number): Record<string, string> {
  const ann: Record<string, string> = {
    [ANN.hash]: hashContainer(container.name, container.image ?? ''),
    [ANN.restartCount]: String(attempt),
    [ANN.terminationMessagePath]: container.terminationMessagePath ?? '/dev/termination-log',
    [ANN.terminationMessagePolicy]: container.terminationMessagePolicy ?? 'File',
  };
  if (pod.metadata?.deletionGracePeriodSeconds !== undefined) ann[ANN.deletionGrace] = String(pod.metadata.deletionGracePeriodSeconds);
  if (pod.spec?.terminationGracePeriodSeconds !== undefined) ann[ANN.terminationGrace] = String(pod.spec.terminationGracePeriodSeconds);
  if (container.lifecycle?.preStop) ann[ANN.preStop] = JSON.stringify(container.lifecycle.preStop);
  if (container.ports?.length) ann[ANN.ports] = JSON.stringify(container.ports);
  return ann;
}

export interface ContainerOptions {
  nodeName: string;
  attempt: number;
  /** Image reference to run (ImageStatus id or the name the user gave). */
  imageRef: string;
  /** Log path relative to the sandbox's log directory. */
  logPath: string;
  mounts: Input<Mount>[];
  fieldValues: FieldValues;
  /** Total memory of the node, for the Burstable oom_score_adj. */
  nodeMemoryBytes: number;
}

export function containerConfig(pod: RuntimePod, container: V1Container, opts: ContainerOptions): Input<ContainerConfig> {
  const env = containerEnv(pod.pod, container, opts.fieldValues);
  const sc: V1SecurityContext = container.securityContext ?? {};
  const psc: V1PodSecurityContext = pod.pod.spec?.securityContext ?? {};
  return {
    metadata: { name: container.name, attempt: opts.attempt },
    image: { image: opts.imageRef, userSpecifiedImage: container.image ?? '' },
    // command overrides the image's entrypoint, args its cmd; both expanded like the kubelet.
    command: (container.command ?? []).map((a) => expand(a, env)),
    args: (container.args ?? []).map((a) => expand(a, env)),
    workingDir: container.workingDir ?? '',
    envs: [...env].map(([key, value]) => ({ key, value: Buffer.from(value, 'utf8') })),
    mounts: opts.mounts,
    labels: {
      [POD_NAME_LABEL]: pod.name,
      [POD_NAMESPACE_LABEL]: pod.namespace,
      [POD_UID_LABEL]: pod.uid,
      [CONTAINER_NAME_LABEL]: container.name,
      [OWNER_LABEL]: opts.nodeName,
    },
    annotations: containerAnnotations(pod.pod, container, opts.attempt),
    logPath: opts.logPath,
    stdin: container.stdin === true,
    stdinOnce: container.stdinOnce === true,
    tty: container.tty === true,
    linux: {
      resources: containerResources(pod.pod, container, opts.nodeMemoryBytes),
      securityContext: {
        capabilities: {
          addCapabilities: sc.capabilities?.add ?? [],
          dropCapabilities: sc.capabilities?.drop ?? [],
        },
        privileged: sc.privileged === true,
        namespaceOptions: namespaceOptions(pod.pod),
        runAsUser: int64Value(sc.runAsUser ?? psc.runAsUser),
        runAsGroup: int64Value(sc.runAsGroup ?? psc.runAsGroup),
        readonlyRootfs: sc.readOnlyRootFilesystem === true,
        supplementalGroups: psc.supplementalGroups ?? [],
        noNewPrivs: sc.allowPrivilegeEscalation === false,
        seccomp: seccomp(sc.seccompProfile ?? psc.seccompProfile),
      },
    },
  };
}
