import type { Host } from '../../src/host/host.js';
import type { ManagedContainer } from '../../src/agent/runtime/types.js';
import { ProcessRuntime } from '../../src/agent/runtime/process.js';

/**
 * Kills (SIGKILL, whole process group) every container process still marked with this rootfs and
 * returns them: a test's after() asserts the list is empty, so a leak fails loudly yet is cleaned.
 */
export async function killLeftoverContainers(host: Host): Promise<ManagedContainer[]> {
  const leftovers = await new ProcessRuntime(host).listManaged();
  for (const m of leftovers) {
    try {
      process.kill(-Number(m.ref.id.split(':')[0]), 'SIGKILL');
    } catch {
      // gone
    }
  }
  return leftovers;
}
