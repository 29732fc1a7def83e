/**
 * The checks both `kubestrap init` e2e tests (process and cri runtime) run against the cluster init
 * brought up: node and mirror pods through the API, mirror recreation keeping the container, a
 * manifest edit replacing it, the bootstrap token, and a broken manifest that must not take the
 * API server down. The runtime-specific part — which container runs a component — is a parameter.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { V1Node, V1Pod, V1PodList } from '@kubernetes/client-node';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { verifyDetachedJWS } from '../../src/kube/discovery.js';
import {
  CONTROL_PLANE,
  httpsGet,
  kubectl,
  kubectlJson,
  kubestrap,
  ReadyzWatch,
  tokenFromInitOutput,
  APISERVER,
  type ControlPlaneComponent,
} from './init-e2e.js';
import { waitFor } from './proc.js';

export interface RunningContainer {
  /** pid (process runtime) or container id (cri). */
  id: string;
  args: string[];
}

export interface ScenarioInput {
  rootfs: string;
  node: string;
  initStdout: string;
  /** The running container of a control-plane component, as the runtime sees it. */
  container(name: ControlPlaneComponent): Promise<RunningContainer | undefined>;
}

const MIRROR = 'kubernetes.io/config.mirror';
const HASH = 'kubernetes.io/config.hash';

function since(t0: number): string {
  return `${Math.round(performance.now() - t0)} ms`;
}

export async function controlPlaneScenario(t: TestContext, input: ScenarioInput): Promise<void> {
  const { rootfs, node } = input;
  const admin = path.join(rootfs, 'etc/kubernetes/admin.conf');
  const manifests = path.join(rootfs, 'etc/kubernetes/manifests');
  const getPod = (name: string): Promise<V1Pod | undefined> => kubectlJson<V1Pod>(admin, ['get', 'pod', '-n', 'kube-system', name]).catch(() => undefined);

  // --- the node: Ready, control-plane role and taint
  let t0 = performance.now();
  const nodeObj = await waitFor(
    `node ${node} Ready with the control-plane taint`,
    async () => {
      const n = await kubectlJson<V1Node>(admin, ['get', 'node', node]);
      const ready = n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      const tainted = n.spec?.taints?.some((x) => x.key === 'node-role.kubernetes.io/control-plane' && x.effect === 'NoSchedule');
      return ready && tainted ? n : undefined;
    },
    60_000,
    500,
  );
  assert.equal(nodeObj.metadata?.labels?.['node-role.kubernetes.io/control-plane'], '');
  const nodesText = await kubectl(admin, ['get', 'nodes', '--no-headers']);
  assert.match(nodesText, new RegExp(`^${node}\\s+Ready\\s+control-plane\\s`, 'm'));
  t.diagnostic(`kubectl get nodes: ${nodesText.trim()} (after ${since(t0)})`);

  // --- the four mirror pods: Running, 1/1 Ready, with the mirror annotation
  t0 = performance.now();
  const names = CONTROL_PLANE.map((c) => `${c}-${node}`);
  await waitFor(
    'four mirror pods Running and Ready',
    async () => {
      const list = await kubectlJson<V1PodList>(admin, ['get', 'pods', '-n', 'kube-system']);
      const ok = names.every((n) => {
        const p = list.items.find((x) => x.metadata?.name === n);
        return p?.status?.phase === 'Running' && p.status.containerStatuses?.every((c) => c.ready) && p.metadata?.annotations?.[MIRROR];
      });
      return ok ? true : undefined;
    },
    60_000,
    500,
  );
  const podsText = await kubectl(admin, ['get', 'pods', '-n', 'kube-system', '--no-headers']);
  for (const n of names) assert.match(podsText, new RegExp(`^${n}\\s+1/1\\s+Running\\s`, 'm'), podsText);
  t.diagnostic(`kubectl get pods -n kube-system (after ${since(t0)}):\n${podsText.trim()}`);

  const watch = new ReadyzWatch(`${APISERVER}/readyz`, 200, false);
  try {
    // --- delete the scheduler's mirror: back within seconds, same container
    const scheduler = `kube-scheduler-${node}`;
    const before = await input.container('kube-scheduler');
    assert.ok(before, 'the scheduler runs');
    const oldMirror = await getPod(scheduler);
    t0 = performance.now();
    await kubectl(admin, ['delete', 'pod', scheduler, '-n', 'kube-system', '--wait=false']);
    const back = await waitFor(
      'scheduler mirror recreated',
      async () => {
        const p = await getPod(scheduler);
        return p && p.metadata?.uid !== oldMirror?.metadata?.uid && !p.metadata?.deletionTimestamp ? p : undefined;
      },
      10_000,
      100,
    );
    const recreateMs = Math.round(performance.now() - t0);
    assert.ok(back.metadata?.annotations?.[MIRROR]);
    assert.deepEqual(await input.container('kube-scheduler'), before, 'the scheduler container is the same one');
    t.diagnostic(`mirror recreated after delete in ${recreateMs} ms; scheduler still ${before.id}`);

    // --- edit the scheduler manifest (--v=2): a new scheduler with the flag, a new mirror hash
    const schedFile = path.join(manifests, 'kube-scheduler.yaml');
    const schedPod = parse(await readFile(schedFile, 'utf8')) as V1Pod;
    schedPod.spec!.containers[0]!.command!.push('--v=2');
    const oldHash = back.metadata?.annotations?.[HASH];
    t0 = performance.now();
    await writeFile(schedFile, stringify(schedPod));
    const edited = await waitFor(
      'a new scheduler with --v=2',
      async () => {
        const c = await input.container('kube-scheduler');
        return c && c.id !== before.id && c.args.includes('--v=2') ? c : undefined;
      },
      60_000,
      200,
    );
    t.diagnostic(`edit → new scheduler ${edited.id} running with --v=2 after ${since(t0)}`);
    const newMirror = await waitFor(
      'scheduler mirror with the new hash, Running and Ready',
      async () => {
        const p = await getPod(scheduler);
        const h = p?.metadata?.annotations?.[HASH];
        return p && h && h !== oldHash && p.status?.containerStatuses?.every((c) => c.ready) ? p : undefined;
      },
      90_000,
      250,
    );
    t.diagnostic(`mirror hash ${oldHash} → ${newMirror.metadata?.annotations?.[HASH]} after ${since(t0)}`);

    // --- the bootstrap token: discovery as a joining node does it (cluster-info read anonymously,
    // its JWS verified with the token), and the token itself authenticates (kubeadm lets it get nodes)
    const token = tokenFromInitOutput(input.initStdout);
    assert.ok(token, 'init printed a join command with a token');
    const [id, secret] = token.split('.') as [string, string];
    const cm = await waitFor(
      'cluster-info with the JWS for the token',
      async () => {
        const res = await httpsGet(`${APISERVER}/api/v1/namespaces/kube-public/configmaps/cluster-info`);
        assert.equal(res.status, 200, res.body);
        const data = (JSON.parse(res.body) as { data: Record<string, string> }).data;
        return data[`jws-kubeconfig-${id}`] ? data : undefined;
      },
      60_000,
      500,
    );
    assert.ok(verifyDetachedJWS(cm[`jws-kubeconfig-${id}`]!, cm.kubeconfig!, id, secret), 'the JWS verifies with the token');
    assert.ok(!verifyDetachedJWS(cm[`jws-kubeconfig-${id}`]!, cm.kubeconfig!, id, 'x'.repeat(16)));
    const asToken = await httpsGet(`${APISERVER}/api/v1/nodes/${node}`, token);
    assert.equal(asToken.status, 200, `the token authenticates and may get nodes: ${asToken.body}`);
    assert.equal((await httpsGet(`${APISERVER}/api/v1/nodes/${node}`, `${id}.${'x'.repeat(16)}`)).status, 401, 'a wrong secret is refused');
    t.diagnostic(`cluster-info jws-kubeconfig-${id} verifies with the token; the token authenticates (GET node: 200)`);

    // --- a broken kube-apiserver.yaml: the API server keeps running, the error is visible
    const apiFile = path.join(manifests, 'kube-apiserver.yaml');
    const apiGood = await readFile(apiFile, 'utf8');
    const apiBefore = await input.container('kube-apiserver');
    assert.ok(apiBefore);
    t0 = performance.now();
    await writeFile(apiFile, `${apiGood}\nspec: [this is not valid yaml\n`);
    const ps = await waitFor(
      '`kubestrap ps` showing the manifest error',
      async () => {
        const r = await kubestrap(['ps', '--rootfs', rootfs], 30_000);
        return r.code === 0 && /kube-apiserver/.test(r.stdout) && /manifest error|error: .*kube-apiserver\.yaml/.test(r.stdout) ? r.stdout : undefined;
      },
      60_000,
      500,
    );
    t.diagnostic(`kubestrap ps after the broken edit (${since(t0)}):\n${ps.trim()}`);
    const event = await waitFor(
      'a Warning event on the kube-apiserver mirror pod',
      async () => {
        const list = await kubectlJson<{ items: { type?: string; reason?: string; message?: string }[] }>(admin, [
          'get',
          'events',
          '-n',
          'kube-system',
          '--field-selector',
          `involvedObject.name=kube-apiserver-${node},type=Warning`,
        ]);
        return list.items.find((e) => /kube-apiserver\.yaml|yaml|pars/i.test(e.message ?? ''));
      },
      60_000,
      500,
    );
    t.diagnostic(`event: ${event.type} ${event.reason}: ${event.message}`);
    assert.deepEqual(await input.container('kube-apiserver'), apiBefore, 'the API server is the same process/container');
    await writeFile(apiFile, apiGood);
    await waitFor(
      'the manifest error to clear',
      async () => {
        const r = await kubestrap(['ps', '--rootfs', rootfs], 30_000);
        return r.code === 0 && !/manifest error|^error:/m.test(r.stdout) ? true : undefined;
      },
      60_000,
      500,
    );
    assert.deepEqual(await input.container('kube-apiserver'), apiBefore, 'restoring the good manifest keeps the API server');
  } finally {
    await watch.stop();
  }
  t.diagnostic(`/readyz polled ${watch.polls} times during delete/edit/broken edit, ${watch.failures.length} failures`);
  assert.deepEqual(watch.failures, [], 'the API server stayed ready throughout');
}
