/**
 * What a component template receives: the finished values of one static Pod, computed in
 * TypeScript (components.ts), so the templates only lay them out.
 */
import type { EnvVar, HostPathType } from '../config/types.js';

export const CONTROL_PLANE_COMPONENTS = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;
export type ControlPlaneComponent = (typeof CONTROL_PLANE_COMPONENTS)[number];
export type ComponentName = 'etcd' | ControlPlaneComponent;
export const ALL_COMPONENTS: readonly ComponentName[] = ['etcd', ...CONTROL_PLANE_COMPONENTS];

/** kubeadm's named container port that every control-plane probe uses since v1.34. */
export const PROBE_PORT_NAME = 'probe-port';

export interface ProbeSpec {
  /** '' lets the kubelet probe the pod IP (kubeadm does that for 0.0.0.0 / ::). */
  host: string;
  path: string;
  scheme: 'HTTP' | 'HTTPS';
  initialDelaySeconds: number;
  timeoutSeconds: number;
  failureThreshold: number;
  periodSeconds: number;
}

export interface VolumeSpec {
  name: string;
  /** Host path as the pod sees it (never rootfs-prefixed: the agent adds the prefix). */
  hostPath: string;
  /** kubeadm always sets a type, '' for an extraVolume without pathType. */
  type: HostPathType;
}

export interface VolumeMountSpec {
  name: string;
  mountPath: string;
  readOnly: boolean;
}

export interface ComponentSpec {
  component: ComponentName;
  /** Ordered key/value pairs (sorted by key, as kubeadm's YAML marshalling prints maps). */
  annotations: { key: string; value: string }[];
  image: string;
  imagePullPolicy: string;
  command: string[];
  env: EnvVar[];
  probePort: number;
  livenessProbe: ProbeSpec;
  readinessProbe: ProbeSpec | null;
  startupProbe: ProbeSpec;
  requests: { cpu: string; memory: string | null };
  volumes: VolumeSpec[];
  volumeMounts: VolumeMountSpec[];
}
