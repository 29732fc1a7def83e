/**
 * The end of a pod: every live container stopped with the pod's grace period (their final state
 * recorded), every container removed (the dead one kept for logs too), the sandbox stopped and
 * removed. What a remove, an update's first half and reset do; failures are reported and skipped.
 */
import type { ContainerRef, ContainerRunState, Runtime, RuntimePod, SandboxRef } from '../runtime/types.js';
import type { Rec } from './container-record.js';
import type { Terminated } from './status.js';

export interface StopDeps {
  runtime: Runtime;
  pod: RuntimePod;
  graceSeconds: number;
  onError(rec: Rec, err: unknown): void;
  /** The terminated state to show for a container that exited. */
  terminated(rec: Rec, ref: ContainerRef, state: ContainerRunState): Terminated;
}

export async function removeContainers(recs: readonly Rec[], sandbox: SandboxRef | undefined, deps: StopDeps): Promise<void> {
  const { runtime } = deps;
  await Promise.all(
    recs
      .filter((r) => r.ref)
      .map(async (r) => {
        try {
          await runtime.stopContainer(r.ref!, deps.graceSeconds);
          const st = await runtime.status(r.ref!);
          if (st.state === 'exited') r.view = { terminated: deps.terminated(r, r.ref!, st) };
        } catch (err) {
          deps.onError(r, err);
        }
      }),
  );
  for (const r of recs) {
    for (const ref of [r.deadRef, r.ref]) if (ref) await runtime.removeContainer(ref).catch(() => undefined);
  }
  if (sandbox) {
    await runtime.stopPodSandbox(deps.pod, sandbox).catch(() => undefined);
    await runtime.removePodSandbox(deps.pod, sandbox).catch(() => undefined);
  }
}
