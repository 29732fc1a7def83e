import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1PodList } from '@kubernetes/client-node';
import { Agent, type PodManager } from '../../src/agent/agent.js';
import type { AgentConfig } from '../../src/agent/config.js';
import { memoryLogger } from '../../src/agent/log.js';
import type { PodEvent, PodState, StaticPod } from '../../src/agent/pod-types.js';
import type { Runtime } from '../../src/agent/runtime/types.js';
import type { SourceErrorList } from '../../src/agent/server.js';
import { psTable } from '../../src/commands/ps-table.js';
import { Host } from '../../src/host/host.js';

/** Unit-level fake: records events and reports every applied pod as Running. */
class FakeWorkers implements PodManager {
  events: string[] = [];
  adopted: StaticPod[] | undefined;
  private readonly running = new Map<string, PodState>();
  stoppedAll = false;
  apply(e: PodEvent): void {
    this.events.push(`${e.type} ${e.pod.name}`);
    if (e.type === 'update') this.running.delete(e.previous.uid);
    if (e.type === 'remove') this.running.delete(e.pod.uid);
    else
      this.running.set(e.pod.uid, {
        pod: e.pod,
        restarts: 2,
        errors: [],
        status: {
          phase: 'Running',
          startTime: new Date(Date.now() - 300_000),
          containerStatuses: [{ name: 'main', image: 'img', imageID: '', ready: true, restartCount: 2, state: { running: {} } }],
        },
      });
  }
  async adopt(desired: StaticPod[]): Promise<void> {
    this.adopted = desired;
  }
  states(): PodState[] {
    return [...this.running.values()];
  }
  async stopAll(): Promise<void> {
    this.stoppedAll = true;
  }
  metrics() {
    return {
      pods: this.running.size,
      runningContainers: this.running.size,
      restartsTotal: 2,
      syncLatencyMs: [12, 30],
      probeFailuresTotal: 0,
      startFailuresTotal: 0,
    };
  }
}

const fakeRuntime = (): Runtime & { inits: number; closed: boolean } => {
  const notUsed = async (): Promise<never> => {
    throw new Error('not used by the agent itself');
  };
  return {
    name: 'process',
    inits: 0,
    closed: false,
    async init() {
      this.inits++;
    },
    ensureImage: notUsed,
    runPodSandbox: notUsed,
    stopPodSandbox: notUsed,
    removePodSandbox: notUsed,
    startContainer: notUsed,
    stopContainer: notUsed,
    removeContainer: notUsed,
    status: notUsed,
    waitExit: notUsed,
    exec: notUsed,
    listManaged: async () => [],
    async close() {
      this.closed = true;
    },
  };
};

/** An agent on `rootfs` reading only its manifest dir, the read-only server off (tests listen themselves). */
const agentConfig = (rootfs: string, runtime: AgentConfig['runtime']): AgentConfig => ({
  host: new Host(rootfs),
  nodeName: 'node1',
  runtime,
  containerRuntimeEndpoint: 'unix:///nonexistent',
  staticPodPath: '/etc/kubernetes/manifests',
  staticPodURLHeader: {},
  fileCheckFrequencyMs: 60_000,
  httpCheckFrequencyMs: 60_000,
  readOnlyPort: 0,
  stopPodsOnExit: false,
  stateDir: '/var/lib/kubestrap/agent',
});

const podYaml = (name: string, image = 'img:1') =>
  `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: kube-system}\nspec:\n  containers:\n  - {name: main, image: "${image}"}\n`;

describe('agent read-only server', () => {
  it('serves /healthz, /pods (live status + source errors), /errors and /metrics; stop leaves pods', async () => {
    const rootfs = await mkdtemp(path.join(tmpdir(), 'kubestrap-agent-server-'));
    const dir = path.join(rootfs, 'etc/kubernetes/manifests');
    await mkdir(dir, { recursive: true });
    const old = new Date(Date.now() - 60_000);
    for (const [f, c] of [
      ['apiserver.yaml', podYaml('kube-apiserver')],
      ['etcd.yaml', podYaml('etcd')],
      ['broken.yaml', 'kind: Pod\n'],
    ] as const) {
      await writeFile(path.join(dir, f), c);
      await utimes(path.join(dir, f), old, old);
    }
    const config = agentConfig(rootfs, 'process');
    const workers = new FakeWorkers();
    const runtime = fakeRuntime();
    const agent = new Agent({ config, runtime, workers, logger: memoryLogger() });
    try {
      await agent.start();
      assert.equal(runtime.inits, 1);
      assert.deepEqual(
        workers.adopted?.map((p) => p.name),
        ['etcd-node1', 'kube-apiserver-node1'],
      );
      const port = await agent.listenOn(0);
      const get = async (p: string) => fetch(`http://127.0.0.1:${port}${p}`);

      assert.equal(await (await get('/healthz')).text(), 'ok');
      assert.equal((await get('/nope')).status, 404);

      // Break etcd: the last good pod is kept and carries the error.
      await writeFile(path.join(dir, 'etcd.yaml'), podYaml('etcd', ''));
      for (let i = 0; i < 200 && agent.errors().length < 2; i++) await sleep(10);
      await sleep(20);
      assert.deepEqual(workers.events, ['add etcd-node1', 'add kube-apiserver-node1'], 'a broken edit sends no event');

      const list = (await (await get('/pods')).json()) as V1PodList;
      assert.equal(list.kind, 'PodList');
      assert.deepEqual(
        list.items.map((p) => p.metadata!.name),
        ['etcd-node1', 'kube-apiserver-node1'],
      );
      assert.equal(list.items[1]!.status!.phase, 'Running');
      const etcd = list.items[0]!;
      assert.match(etcd.metadata!.annotations!['kubestrap.io/source-error']!, /spec\.containers\[0\]\.image/);
      assert.equal(list.items[1]!.metadata!.annotations!['kubestrap.io/source-error'], undefined);

      const errors = (await (await get('/errors')).json()) as SourceErrorList;
      assert.equal(errors.kind, 'SourceErrorList');
      assert.deepEqual(errors.items.map((e) => path.basename(e.origin)).sort(), ['broken.yaml', 'etcd.yaml']);
      assert.deepEqual(errors.items.find((e) => e.origin.endsWith('etcd.yaml'))!.keptPod, { namespace: 'kube-system', name: 'etcd-node1' });

      const metrics = await (await get('/metrics')).text();
      assert.match(metrics, /^kubestrap_agent_desired_pods 2$/m);
      assert.match(metrics, /^kubestrap_agent_pods\{phase="Running"\} 2$/m);
      assert.match(metrics, /^kubestrap_agent_container_restarts\{namespace="kube-system",pod="etcd-node1",container="main"\} 2$/m);
      assert.match(metrics, /^kubestrap_agent_source_errors\{source="file"\} 2$/m);
      assert.match(metrics, /^kubestrap_agent_sync_latency_seconds_count 1$/m);
      assert.match(metrics, /^# TYPE kubestrap_agent_sync_latency_seconds histogram$/m);

      const table = psTable(list, errors, Date.now());
      const lines = table.trimEnd().split('\n');
      assert.match(lines[0]!, /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+ERROR$/);
      assert.match(lines[1]!, /^kube-system\s+etcd-node1\s+1\/1\s+Running\s+2\s+5m\s+manifest error: running last good$/);
      assert.match(lines[2]!, /^kube-system\s+kube-apiserver-node1\s+1\/1\s+Running\s+2\s+5m$/);
      assert.ok(
        lines.some((l) => l.startsWith('error: ') && l.includes('broken.yaml')),
        table,
      );

      // A delete is a remove event.
      await unlink(path.join(dir, 'apiserver.yaml'));
      for (let i = 0; i < 200 && workers.events.length < 3; i++) await sleep(5);
      assert.deepEqual(workers.events.at(-1), 'remove kube-apiserver-node1');
    } finally {
      await agent.stop();
      await rm(rootfs, { recursive: true, force: true });
    }
    assert.equal(workers.stoppedAll, false, 'pods are left running by default');
    assert.equal(runtime.closed, true);
  });
});

describe('agent start', () => {
  it("logs each of the runtime's warnings once, as a warning, after init", async () => {
    const rootfs = await mkdtemp(path.join(tmpdir(), 'kubestrap-agent-warn-'));
    await mkdir(path.join(rootfs, 'etc/kubernetes/manifests'), { recursive: true });
    const warning = 'containerd 1.6.20~ds1 is out of support; the kubelet drops containerd 1.x in v1.38: upgrade to containerd 2.x';
    const runtime = { ...fakeRuntime(), name: 'cri' as const, warnings: () => [warning] };
    const logger = memoryLogger();
    const config = agentConfig(rootfs, 'cri');
    const agent = new Agent({ config, runtime, workers: new FakeWorkers(), logger });
    try {
      await agent.start();
    } finally {
      await agent.stop();
      await rm(rootfs, { recursive: true, force: true });
    }
    assert.deepEqual(
      logger.records.filter((r) => r.level === 'warn'),
      [{ level: 'warn', msg: warning, fields: { component: 'agent', runtime: 'cri' } }],
    );
  });
});
