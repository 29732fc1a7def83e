/**
 * TypeScript shapes of the CRI messages in api.proto, as src/util/proto.ts decodes them with the
 * options in client.ts: camelCase field names, enums as their names, int64/uint64 as JS numbers
 * (nanosecond timestamps keep sub-microsecond precision, ample for an agent), scalars and
 * repeated/map fields always present, unset sub-messages null. Requests take `Input<T>`: every
 * field optional, as proto3 does.
 */

/** Recursive "every field optional" for request bodies. */
export type Input<T> = T extends string | number | boolean | Buffer
  ? T
  : T extends readonly (infer U)[]
    ? Input<U>[]
    : T extends object
      ? { [K in keyof T]?: Input<NonNullable<T[K]>> | null }
      : T;

export type StringMap = Record<string, string>;

export type MountPropagation = 'PROPAGATION_PRIVATE' | 'PROPAGATION_HOST_TO_CONTAINER' | 'PROPAGATION_BIDIRECTIONAL';
export type NamespaceMode = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';
export type ProfileType = 'RuntimeDefault' | 'Unconfined' | 'Localhost';
export type PodSandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
export type ContainerState = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';
export type ContainerEventType = 'CONTAINER_CREATED_EVENT' | 'CONTAINER_STARTED_EVENT' | 'CONTAINER_STOPPED_EVENT' | 'CONTAINER_DELETED_EVENT';

export interface VersionRequest {
  version: string;
}
export interface VersionResponse {
  version: string;
  runtimeName: string;
  runtimeVersion: string;
  runtimeApiVersion: string;
}

export interface RuntimeCondition {
  type: string;
  status: boolean;
  reason: string;
  message: string;
}
export interface StatusRequest {
  verbose: boolean;
}
export interface StatusResponse {
  status: { conditions: RuntimeCondition[] } | null;
  info: StringMap;
}

export interface DNSConfig {
  servers: string[];
  searches: string[];
  options: string[];
}
export interface Mount {
  containerPath: string;
  hostPath: string;
  readonly: boolean;
  selinuxRelabel: boolean;
  propagation: MountPropagation;
}
export interface NamespaceOption {
  network: NamespaceMode;
  pid: NamespaceMode;
  ipc: NamespaceMode;
  targetId: string;
}
export interface Int64Value {
  value: number;
}
export interface SecurityProfile {
  profileType: ProfileType;
  localhostRef: string;
}
export interface KeyValue {
  key: string;
  /**
   * cri-api v0.37 made this `bytes` (env values need not be UTF-8); on the wire it is the same
   * length-delimited field as the `string` older runtimes declare, so UTF-8 bytes work with both.
   */
  value: Buffer;
}
export interface ImageSpec {
  image: string;
  annotations: StringMap;
  userSpecifiedImage: string;
}

export interface LinuxSandboxSecurityContext {
  namespaceOptions: NamespaceOption | null;
  runAsUser: Int64Value | null;
  runAsGroup: Int64Value | null;
  readonlyRootfs: boolean;
  supplementalGroups: number[];
  privileged: boolean;
  seccomp: SecurityProfile | null;
}
export interface LinuxPodSandboxConfig {
  cgroupParent: string;
  securityContext: LinuxSandboxSecurityContext | null;
  sysctls: StringMap;
}
export interface PodSandboxMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt: number;
}
export interface PodSandboxConfig {
  metadata: PodSandboxMetadata | null;
  hostname: string;
  logDirectory: string;
  dnsConfig: DNSConfig | null;
  labels: StringMap;
  annotations: StringMap;
  linux: LinuxPodSandboxConfig | null;
}
export interface RunPodSandboxRequest {
  config: PodSandboxConfig | null;
  runtimeHandler: string;
}
export interface RunPodSandboxResponse {
  podSandboxId: string;
}
export interface PodSandboxIdRequest {
  podSandboxId: string;
}
export type Empty = Record<string, never>;
export interface PodSandboxStatusRequest {
  podSandboxId: string;
  verbose: boolean;
}
export interface PodSandboxStatus {
  id: string;
  metadata: PodSandboxMetadata | null;
  state: PodSandboxState;
  createdAt: number;
  network: { ip: string; additionalIps: { ip: string }[] } | null;
  linux: { namespaces: { options: NamespaceOption | null } | null } | null;
  labels: StringMap;
  annotations: StringMap;
  runtimeHandler: string;
}
export interface PodSandboxStatusResponse {
  status: PodSandboxStatus | null;
  info: StringMap;
  containersStatuses: ContainerStatus[];
  timestamp: number;
}
export interface PodSandboxFilter {
  id: string;
  state: { state: PodSandboxState } | null;
  labelSelector: StringMap;
}
export interface ListPodSandboxRequest {
  filter: PodSandboxFilter | null;
}
export interface PodSandbox {
  id: string;
  metadata: PodSandboxMetadata | null;
  state: PodSandboxState;
  createdAt: number;
  labels: StringMap;
  annotations: StringMap;
  runtimeHandler: string;
}
export interface ListPodSandboxResponse {
  items: PodSandbox[];
}

export interface LinuxContainerResources {
  cpuPeriod: number;
  cpuQuota: number;
  cpuShares: number;
  memoryLimitInBytes: number;
  oomScoreAdj: number;
  cpusetCpus: string;
  cpusetMems: string;
}
export interface LinuxContainerSecurityContext {
  capabilities: { addCapabilities: string[]; dropCapabilities: string[] } | null;
  privileged: boolean;
  namespaceOptions: NamespaceOption | null;
  runAsUser: Int64Value | null;
  runAsGroup: Int64Value | null;
  runAsUsername: string;
  readonlyRootfs: boolean;
  supplementalGroups: number[];
  noNewPrivs: boolean;
  seccomp: SecurityProfile | null;
}
export interface ContainerMetadata {
  name: string;
  attempt: number;
}
export interface ContainerConfig {
  metadata: ContainerMetadata | null;
  image: ImageSpec | null;
  command: string[];
  args: string[];
  workingDir: string;
  envs: KeyValue[];
  mounts: Mount[];
  labels: StringMap;
  annotations: StringMap;
  logPath: string;
  stdin: boolean;
  stdinOnce: boolean;
  tty: boolean;
  linux: { resources: LinuxContainerResources | null; securityContext: LinuxContainerSecurityContext | null } | null;
}
export interface CreateContainerRequest {
  podSandboxId: string;
  config: ContainerConfig | null;
  sandboxConfig: PodSandboxConfig | null;
}
export interface CreateContainerResponse {
  containerId: string;
}
export interface ContainerIdRequest {
  containerId: string;
}
export interface StopContainerRequest {
  containerId: string;
  /** Seconds before SIGKILL. */
  timeout: number;
}
export interface ContainerFilter {
  id: string;
  state: { state: ContainerState } | null;
  podSandboxId: string;
  labelSelector: StringMap;
}
export interface ListContainersRequest {
  filter: ContainerFilter | null;
}
export interface Container {
  id: string;
  podSandboxId: string;
  metadata: ContainerMetadata | null;
  image: ImageSpec | null;
  imageRef: string;
  state: ContainerState;
  createdAt: number;
  labels: StringMap;
  annotations: StringMap;
  imageId: string;
}
export interface ListContainersResponse {
  containers: Container[];
}
export interface ContainerStatusRequest {
  containerId: string;
  verbose: boolean;
}
export interface ContainerStatus {
  id: string;
  metadata: ContainerMetadata | null;
  state: ContainerState;
  /** Nanoseconds since the epoch; 0 when not (yet) known. */
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  image: ImageSpec | null;
  imageRef: string;
  reason: string;
  message: string;
  labels: StringMap;
  annotations: StringMap;
  mounts: Mount[];
  logPath: string;
  imageId: string;
}
export interface ContainerStatusResponse {
  status: ContainerStatus | null;
  info: StringMap;
}
export interface ExecSyncRequest {
  containerId: string;
  cmd: string[];
  /** Seconds; 0 = no timeout. */
  timeout: number;
}
export interface ExecSyncResponse {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
}
export interface ContainerEventResponse {
  containerId: string;
  containerEventType: ContainerEventType;
  createdAt: number;
  podSandboxStatus: PodSandboxStatus | null;
  containersStatuses: ContainerStatus[];
}

export interface Image {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
  uid: Int64Value | null;
  username: string;
  spec: ImageSpec | null;
  pinned: boolean;
}
export interface ListImagesRequest {
  filter: { image: ImageSpec | null } | null;
}
export interface ListImagesResponse {
  images: Image[];
}
export interface ImageStatusRequest {
  image: ImageSpec | null;
  verbose: boolean;
}
export interface ImageStatusResponse {
  /** null when the image is not present. */
  image: Image | null;
  info: StringMap;
}
export interface AuthConfig {
  username: string;
  password: string;
  auth: string;
  serverAddress: string;
  identityToken: string;
  registryToken: string;
}
export interface PullImageRequest {
  image: ImageSpec | null;
  auth: AuthConfig | null;
  sandboxConfig: PodSandboxConfig | null;
}
export interface PullImageResponse {
  imageRef: string;
}

/** Unary RPCs of runtime.v1.RuntimeService in api.proto: [request, response]. */
export interface RuntimeRpcs {
  Version: [VersionRequest, VersionResponse];
  RunPodSandbox: [RunPodSandboxRequest, RunPodSandboxResponse];
  StopPodSandbox: [PodSandboxIdRequest, Empty];
  RemovePodSandbox: [PodSandboxIdRequest, Empty];
  PodSandboxStatus: [PodSandboxStatusRequest, PodSandboxStatusResponse];
  ListPodSandbox: [ListPodSandboxRequest, ListPodSandboxResponse];
  CreateContainer: [CreateContainerRequest, CreateContainerResponse];
  StartContainer: [ContainerIdRequest, Empty];
  StopContainer: [StopContainerRequest, Empty];
  RemoveContainer: [ContainerIdRequest, Empty];
  ListContainers: [ListContainersRequest, ListContainersResponse];
  ContainerStatus: [ContainerStatusRequest, ContainerStatusResponse];
  ExecSync: [ExecSyncRequest, ExecSyncResponse];
  Status: [StatusRequest, StatusResponse];
}

/** Unary RPCs of runtime.v1.ImageService in api.proto. */
export interface ImageRpcs {
  ListImages: [ListImagesRequest, ListImagesResponse];
  ImageStatus: [ImageStatusRequest, ImageStatusResponse];
  PullImage: [PullImageRequest, PullImageResponse];
}
