/**
 * A static pod run directly through the CRI client, with the configs the agent's cri runtime sends
 * (src/agent/runtime/cri.ts): the references of the agent benchmarks. The pod is resolved from a
 * manifest as the file source resolves it (name suffix, uid, annotations, defaults), so the
 * sandbox and container configs are byte for byte what the agent would send for that file.
 */
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { V1Container } from '@kubernetes/client-node';
import { resolveStaticPod } from '../../src/agent/identity.js';
import { containerLogPath } from '../../src/agent/logs/cri-log.js';
import { containerConfig, podLogDirectory, sandboxConfig } from '../../src/agent/runtime/cri/config.js';
import { containerMounts } from '../../src/agent/runtime/cri/volumes.js';
import type { RuntimePod } from '../../src/agent/runtime/types.js';
import type { CriClient } from '../../src/cri/client.js';
import type { Host } from '../../src/host/host.js';
import { decodeDocument } from '../../src/pod/decode.js';

export interface DirectPod {
  pod: RuntimePod;
  sandbox: ReturnType<typeof sandboxConfig>;
  /** The first container's config at a restart attempt. */
  container(attempt: number): ReturnType<typeof containerConfig>;
}

export interface DirectPodOptions {
  host: Host;
  /** Manifest text, e.g. bench/lib/manifests.ts criPod(). */
  manifest: string;
  /** The file it would be read from (goes into the uid). */
  origin: string;
  nodeName: string;
  /** ImageStatus id of the first container's image (the agent's ensureImage result). */
  imageRef: string;
  nodeIP: string;
}

/** The pod and its configs, log directories made: everything the agent does before RunPodSandbox. */
export async function directPod(o: DirectPodOptions): Promise<DirectPod> {
  const sp = resolveStaticPod({
    manifest: decodeDocument(Buffer.from(o.manifest), o.origin),
    source: 'file',
    origin: o.origin,
    nodeName: o.nodeName,
    seen: new Date(),
  });
  const pod: RuntimePod = { uid: sp.uid, name: sp.name, namespace: sp.namespace, pod: sp.pod };
  const c: V1Container = sp.pod.spec!.containers[0]!;
  const logDirectory = o.host.path(podLogDirectory(pod));
  await mkdir(logDirectory, { recursive: true, mode: 0o755 });
  const mounts = await containerMounts(o.host, pod, c);
  const logPath = (attempt: number): string => o.host.path(containerLogPath(pod.namespace, pod.name, pod.uid, c.name, attempt));
  // one directory for every attempt's log (<container>/<attempt>.log)
  await mkdir(path.dirname(logPath(0)), { recursive: true, mode: 0o755 });
  return {
    pod,
    sandbox: sandboxConfig(pod, { nodeName: o.nodeName, attempt: 0, logDirectory, cgroupParent: '' }),
    container: (attempt) =>
      containerConfig(pod, c, {
        nodeName: o.nodeName,
        attempt,
        imageRef: o.imageRef,
        logPath: path.relative(logDirectory, logPath(attempt)),
        mounts,
        fieldValues: { nodeIP: o.nodeIP },
        nodeMemoryBytes: os.totalmem(),
      }),
  };
}

/** RunPodSandbox, CreateContainer, StartContainer of the pod's first container, one after the other. */
export async function runDirect(cri: CriClient, p: DirectPod): Promise<{ sandboxId: string; containerId: string }> {
  const config = p.container(0);
  const { podSandboxId } = await cri.runtime.runPodSandbox({ config: p.sandbox, runtimeHandler: '' });
  try {
    const { containerId } = await cri.runtime.createContainer({ podSandboxId, config, sandboxConfig: p.sandbox });
    await cri.runtime.startContainer({ containerId });
    return { sandboxId: podSandboxId, containerId };
  } catch (err) {
    await removeSandbox(cri, podSandboxId).catch(() => undefined);
    throw err;
  }
}

export async function removeSandbox(cri: CriClient, podSandboxId: string): Promise<void> {
  await cri.runtime.stopPodSandbox({ podSandboxId });
  await cri.runtime.removePodSandbox({ podSandboxId });
}
