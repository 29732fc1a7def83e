/**
 * The real `kubestrap agent --runtime process` (a child process, as a user runs it) driven through
 * its manifest directory and observed through its read-only port, `kubestrap ps` and /proc:
 * backup/swap files ignored, edit → new spec, broken edit → last good keeps running + error in
 * /pods, duplicates refused naming both files, chunked writes, delete → stopped, SIGTERM leaves pods
 * running, a restarted agent adopts them, --stop-pods-on-exit stops them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Pod, V1PodList } from '@kubernetes/client-node';
import type { SourceErrorList } from '../../src/agent/server.js';
import { freePort, killSleepers, NODE_ARGS, REPO as repo, sleepers, sourceError, waitSourceError } from '../support/agent-child.js';
import { startProcess, waitFor, type Proc } from '../support/proc.js';

/** sleep durations unique to this run: they name our pod processes in /proc. */
const base = 7_000_000 + Math.floor(Math.random() * 900_000) * 10;
const token = (i: number): string => String(base + i);
const killOurSleepers = (): void => killSleepers(Array.from({ length: 10 }, (_, i) => token(i)));

const podYaml = (name: string, t: string): string =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  namespace: kube-system\nspec:\n  hostNetwork: true\n  terminationGracePeriodSeconds: 2\n  containers:\n  - name: main\n    image: busybox:1.36\n    command: [sleep, "${t}"]\n`;

const root = await mkdtemp(path.join(tmpdir(), 'kubestrap-agent-sources-'));
const procs: Proc[] = [];
after(async () => {
  for (const p of procs) await p.stop(5000);
  killOurSleepers();
  await rm(root, { recursive: true, force: true });
});

test('kubestrap agent --runtime process: sources end to end', { timeout: 180_000 }, async (t) => {
  const rootfs = path.join(root, 'rootfs');
  const dir = path.join(rootfs, 'etc/kubernetes/manifests');
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const cfg = path.join(root, 'agent.yaml');
  // A 60 s relist: anything faster than that below comes from the watch.
  await writeFile(cfg, 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nfileCheckFrequency: 60s\n');

  await writeFile(path.join(dir, 'web.yaml'), podYaml('web', token(0)));
  for (const junk of ['web.yaml.bak', 'web.yaml~', '.web.yaml.swp', 'web.yaml-bak']) await writeFile(path.join(dir, junk), podYaml('web', token(9)));

  const startAgent = async (name: string, extra: string[] = []): Promise<Proc> => {
    const p = await startProcess(
      name,
      process.execPath,
      [...NODE_ARGS, 'agent', '--rootfs', rootfs, '--runtime', 'process', '--node-name', 'n1', '--read-only-port', String(port), '--config', cfg, ...extra],
      {
        logFile: path.join(root, `${name}.log`),
        cwd: repo,
      },
    );
    procs.push(p);
    return p;
  };
  const get = async <T>(p: string): Promise<T> => {
    const res = await fetch(`http://127.0.0.1:${port}${p}`);
    assert.equal(res.status, 200);
    return (await res.json()) as T;
  };
  const pods = (): Promise<V1PodList> => get<V1PodList>('/pods');
  const pod = async (name: string): Promise<V1Pod | undefined> => (await pods()).items.find((x) => x.metadata?.name === name);
  const running = (p: V1Pod | undefined, t2: string): boolean =>
    p?.status?.phase === 'Running' && p.spec?.containers[0]?.command?.[1] === t2 && p.status.containerStatuses?.[0]?.state?.running !== undefined;
  const waitRunning = async (name: string, t2: string): Promise<V1Pod> =>
    waitFor(
      `${name} running ${t2}`,
      async () => {
        const p = await pod(name);
        return running(p, t2) ? p : undefined;
      },
      30_000,
      20,
    );

  let agent = await startAgent('agent-1');
  await waitFor('agent /healthz', async () => ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok ? true : undefined), 60_000, 100);

  await t.test('manifests are run; backup and swap files are ignored', async () => {
    await waitRunning('web-n1', token(0));
    assert.equal(sleepers(token(0)).length, 1);
    assert.equal(sleepers(token(9)).length, 0, 'no process from .bak, ~, .swp, -bak files');
    assert.deepEqual(
      (await pods()).items.map((x) => x.metadata?.name),
      ['web-n1'],
    );
  });

  await t.test('an edit restarts the pod with the new spec', async () => {
    const t0 = performance.now();
    await writeFile(path.join(dir, 'web.yaml'), podYaml('web', token(1)));
    await waitRunning('web-n1', token(1));
    t.diagnostic(`edit → new spec running (old stopped first): ${(performance.now() - t0).toFixed(0)} ms`);
    await waitFor('old process gone', async () => (sleepers(token(0)).length === 0 ? true : undefined), 10_000, 20);
    assert.equal(sleepers(token(1)).length, 1);
  });

  await t.test('a new file is running shortly after it is written', async () => {
    const t0 = performance.now();
    await writeFile(path.join(dir, 'api.yaml'), podYaml('api', token(2)));
    await waitRunning('api-n1', token(2));
    t.diagnostic(`file write → Running in /pods: ${(performance.now() - t0).toFixed(0)} ms`);
  });

  await t.test('a broken edit keeps the last good pod running and shows the error in /pods, /errors and ps', async () => {
    const pid = sleepers(token(1));
    await writeFile(path.join(dir, 'web.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers: []\n');
    const p = await waitSourceError(pod, 'web-n1');
    assert.match(sourceError(p)!, /web\.yaml: spec\.containers: Required value/);
    assert.ok(running(p, token(1)));
    assert.deepEqual(sleepers(token(1)), pid, 'same process, untouched');
    const errors = await get<SourceErrorList>('/errors');
    assert.deepEqual(errors.items.find((e) => e.origin.endsWith('/web.yaml'))?.keptPod, { namespace: 'kube-system', name: 'web-n1' });
    const ps = spawnSync(process.execPath, [...NODE_ARGS, 'ps', '--read-only-port', String(port)], { cwd: repo, encoding: 'utf8', timeout: 60_000 });
    assert.equal(ps.status, 0, ps.stderr);
    assert.match(ps.stdout, /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+ERROR$/m);
    assert.match(ps.stdout, /^kube-system\s+web-n1\s+1\/1\s+Running\s+0\s+\S+\s+manifest error: running last good$/m);
    assert.match(ps.stdout, /^error: .*web\.yaml: spec\.containers: Required value \(still running: kube-system\/web-n1\)$/m);
  });

  await t.test('a second file declaring the same pod is refused, naming both files', async () => {
    await writeFile(path.join(dir, 'zz-api-copy.yaml'), podYaml('api', token(3)));
    const e = await waitFor(
      'duplicate error',
      async () => (await get<SourceErrorList>('/errors')).items.find((x) => x.origin.endsWith('zz-api-copy.yaml')),
      10_000,
      20,
    );
    assert.ok(e.message.includes(path.join(dir, 'api.yaml')) && e.message.includes(path.join(dir, 'zz-api-copy.yaml')), e.message);
    await sleep(300);
    assert.equal(sleepers(token(3)).length, 0, 'never both');
    assert.equal(sleepers(token(2)).length, 1);
  });

  await t.test('a file written in place in chunks never yields a broken pod or an error', async () => {
    const text = podYaml('chunky', token(4));
    const fh = await open(path.join(dir, 'chunky.yaml'), 'w');
    const seenErrors: string[] = [];
    const pieces = 5;
    const size = Math.ceil(text.length / pieces);
    for (let i = 0; i < pieces; i++) {
      await fh.write(text.slice(i * size, (i + 1) * size));
      await sleep(i === 1 ? 120 : 20);
      for (const e of (await get<SourceErrorList>('/errors')).items) if (e.origin.endsWith('chunky.yaml')) seenErrors.push(e.message);
    }
    await fh.close();
    await waitRunning('chunky-n1', token(4));
    assert.deepEqual(seenErrors, []);
    assert.deepEqual(
      (await get<SourceErrorList>('/errors')).items.filter((e) => e.origin.endsWith('chunky.yaml')),
      [],
    );
  });

  await t.test('a delete stops the pod', async () => {
    const t0 = performance.now();
    await unlink(path.join(dir, 'web.yaml'));
    await waitFor('web process gone', async () => (sleepers(token(1)).length === 0 ? true : undefined), 10_000, 5);
    t.diagnostic(`delete → process gone: ${(performance.now() - t0).toFixed(0)} ms (relist period 60 s)`);
    await waitFor('web gone from /pods', async () => ((await pod('web-n1')) === undefined ? true : undefined), 10_000, 20);
  });

  await t.test('SIGTERM leaves the pods running; a new agent adopts them; --stop-pods-on-exit stops them', async () => {
    const before = [...sleepers(token(2)), ...sleepers(token(4))];
    assert.equal(before.length, 2);
    const status = await agent.stop(20_000);
    assert.equal(status.code, 0, readFileSync(agent.logFile, 'utf8'));
    assert.deepEqual([...sleepers(token(2)), ...sleepers(token(4))], before, 'pods survive the agent');

    agent = await startAgent('agent-2', ['--stop-pods-on-exit']);
    await waitRunning('api-n1', token(2));
    await waitRunning('chunky-n1', token(4));
    assert.deepEqual([...sleepers(token(2)), ...sleepers(token(4))], before, 'adopted, not restarted or duplicated');

    const stopped = await agent.stop(30_000);
    assert.equal(stopped.code, 0);
    assert.deepEqual([...sleepers(token(2)), ...sleepers(token(4))], [], '--stop-pods-on-exit stopped them');
  });
});
