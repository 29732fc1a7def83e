/**
 * Which CRI container runs a static pod's container on a private containerd, as the e2e tests of
 * the cri runtime identify components (by the agent's labels): its id and its process' argv.
 */
import { readFile } from 'node:fs/promises';
import { CONTAINER_NAME_LABEL, OWNER_LABEL, POD_NAMESPACE_LABEL } from '../../src/agent/runtime/cri/config.js';
import type { PrivateContainerd } from './containerd.js';
import type { RunningContainer } from './init-scenario.js';

/** The running container `name` of a kube-system pod on `node`, or undefined. */
export async function runningContainer(ctrd: PrivateContainerd, node: string, name: string): Promise<RunningContainer | undefined> {
  const { containers } = await ctrd.cri.runtime.listContainers({
    filter: {
      id: '',
      podSandboxId: '',
      state: { state: 'CONTAINER_RUNNING' },
      labelSelector: { [CONTAINER_NAME_LABEL]: name, [POD_NAMESPACE_LABEL]: 'kube-system', [OWNER_LABEL]: node },
    },
  });
  const c = containers[0];
  if (!c) return undefined;
  const { info } = await ctrd.cri.runtime.containerStatus({ containerId: c.id, verbose: true });
  const pid = (JSON.parse(info.info ?? '{}') as { pid?: number }).pid;
  const args = pid ? (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean) : [];
  return { id: c.id, args };
}
