/**
 * One container in the network namespace of a test bed node (a host-network pod, as kube-proxy's
 * DaemonSet or a host-network CoreDNS runs), started on the node's containerd through CRI, with its
 * log under the node's dir. The bed's stop() removes it with the node's containerd.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { LinuxContainerSecurityContext, Mount } from '../../src/cri/types.js';
import type { TestbedNode } from './testbed.js';

export interface HostNetworkContainerSpec {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  mounts?: (Pick<Mount, 'containerPath' | 'hostPath'> & Partial<Mount>)[];
  securityContext?: Partial<LinuxContainerSecurityContext>;
}

export interface RunningContainer {
  containerId: string;
  /** The container's log so far ('' before its first line). */
  log: () => Promise<string>;
}

export async function runHostNetworkContainer(node: TestbedNode, spec: HostNetworkContainerSpec): Promise<RunningContainer> {
  const cri = node.containerd!.cri;
  const logDirectory = path.join(node.dir, 'pods', spec.name);
  await mkdir(logDirectory, { recursive: true });
  const sandboxConfig = {
    metadata: { name: `${spec.name}-${node.name}`, uid: randomUUID(), namespace: 'kube-system', attempt: 0 },
    logDirectory,
    linux: {
      securityContext: {
        namespaceOptions: { network: 'NODE' as const, pid: 'CONTAINER' as const, ipc: 'POD' as const },
        // containerd runs a privileged container only in a privileged sandbox
        privileged: spec.securityContext?.privileged === true,
      },
    },
  };
  const { podSandboxId } = await cri.runtime.runPodSandbox({ config: sandboxConfig });
  const { containerId } = await cri.runtime.createContainer({
    podSandboxId,
    sandboxConfig,
    config: {
      metadata: { name: spec.name, attempt: 0 },
      image: { image: spec.image },
      command: spec.command ?? [],
      args: spec.args ?? [],
      mounts: spec.mounts ?? [],
      linux: { securityContext: spec.securityContext ?? {} },
      logPath: `${spec.name}.log`,
    },
  });
  await cri.runtime.startContainer({ containerId });
  return { containerId, log: () => readFile(path.join(logDirectory, `${spec.name}.log`), 'utf8').catch(() => '') };
}
