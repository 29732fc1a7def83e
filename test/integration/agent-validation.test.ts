/**
 * A corpus of manifests the API server (or this runtime) refuses, dropped beside a healthy pod in
 * the manifest directory of a real `kubestrap agent --runtime process` (a child process, as a user
 * runs it): none of them runs, each is reported once in /errors and `kubestrap ps` naming its
 * field, the healthy pod keeps its PID, a broken edit of it keeps the last good pod, and pods that
 * cannot start wait with the kubelet's reason.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Pod, V1PodList } from '@kubernetes/client-node';
import type { SourceErrorList } from '../../src/agent/server.js';
import { freePort, killSleepers, NODE_ARGS, REPO, sleepers, sourceError, waitSourceError } from '../support/agent-child.js';
import { startProcess, waitFor, type Proc } from '../support/proc.js';

const base = 6_000_000 + Math.floor(Math.random() * 90_000) * 10;
const tokens: string[] = [];
const token = (): string => {
  const t = String(base + tokens.length);
  tokens.push(t);
  return t;
};

/** A hostNetwork pod running `sleep <t>`; `container` and `spec` lines are YAML appended in place. */
function podYaml(name: string, t: string, { container = '', spec = '', meta = '' } = {}): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: kube-system
${meta}spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 2
${spec}  containers:
  - name: main
    image: busybox:1.36
    command: [sleep, "${t}"]
${container}`;
}

/** file → (content or a setup step, the field its error must name). */
const CORPUS: readonly { file: string; yaml?: (t: string) => string; setup?: (dir: string) => Promise<void>; names: RegExp }[] = [
  {
    file: 'env-name.yaml',
    yaml: (t) => podYaml('env-name', t, { container: '    env:\n    - name: A=B\n      value: x\n' }),
    names: /env-name\.yaml: spec\.containers\[0\]\.env\[0\]\.name: Invalid value: "A=B"/,
  },
  {
    file: 'port.yaml',
    yaml: (t) => podYaml('port', t, { container: '    ports:\n    - containerPort: 70000\n' }),
    names: /spec\.containers\[0\]\.ports\[0\]\.containerPort: Invalid value: 70000: must be between 1 and 65535/,
  },
  {
    file: 'two-handlers.yaml',
    yaml: (t) => podYaml('two-handlers', t, { container: '    livenessProbe:\n      exec: {command: ["true"]}\n      tcpSocket: {port: 8080}\n' }),
    names: /spec\.containers\[0\]\.livenessProbe\.tcpSocket: Forbidden: may not specify more than 1 handler type/,
  },
  {
    file: 'no-handler.yaml',
    yaml: (t) => podYaml('no-handler', t, { container: '    readinessProbe:\n      periodSeconds: 5\n' }),
    names: /spec\.containers\[0\]\.readinessProbe: Required value: must specify a handler type/,
  },
  {
    file: 'mount.yaml',
    yaml: (t) => podYaml('mount', t, { container: '    volumeMounts:\n    - {name: nope, mountPath: /x}\n' }),
    names: /spec\.containers\[0\]\.volumeMounts\[0\]\.name: Not found: "nope"/,
  },
  { file: 'label.yaml', yaml: (t) => podYaml('label', t, { meta: '  labels:\n    a/b/c: x\n' }), names: /metadata\.labels: Invalid value: "a\/b\/c"/ },
  {
    file: 'annotations.yaml',
    yaml: (t) => podYaml('annotations', t, { meta: `  annotations:\n    big: "${'x'.repeat(300 * 1024)}"\n` }),
    names: /metadata\.annotations: Too long: may not be more than 262144 bytes/,
  },
  {
    file: 'dup.yaml',
    yaml: (t) => `${podYaml('dup', t)}  - name: main\n    image: busybox:1.36\n    command: [sleep, "${t}"]\n`,
    names: /spec\.containers\[1\]\.name: Duplicate value: "main"/,
  },
  {
    file: 'restart.yaml',
    yaml: (t) => podYaml('restart', t, { spec: '  restartPolicy: Sometimes\n' }),
    names: /spec\.restartPolicy: Unsupported value: "Sometimes"/,
  },
  {
    file: 'grace.yaml',
    yaml: (t) => podYaml('grace', t).replace('terminationGracePeriodSeconds: 2', 'terminationGracePeriodSeconds: -1'),
    names: /spec\.terminationGracePeriodSeconds: Invalid value: -1/,
  },
  {
    file: 'requests.yaml',
    yaml: (t) => podYaml('requests', t, { container: '    resources:\n      requests: {cpu: "2"}\n      limits: {cpu: "1"}\n' }),
    names: /spec\.containers\[0\]\.resources\.requests: Invalid value: "2": must be less than or equal to cpu limit of 1/,
  },
  {
    file: 'user.yaml',
    yaml: (t) => podYaml('user', t, { container: '    securityContext: {runAsUser: -1}\n' }),
    names: /spec\.containers\[0\]\.securityContext\.runAsUser: Invalid value: -1/,
  },
  {
    file: 'podnet.yaml',
    yaml: (t) => podYaml('podnet', t).replace('  hostNetwork: true\n', ''),
    names: /podnet\.yaml: spec\.hostNetwork: Forbidden: the process runtime runs host processes only/,
  },
  { file: 'subdir', setup: (dir) => mkdir(path.join(dir, 'subdir')), names: /subdir: is a directory; manifests are not read from subdirectories/ },
  {
    file: 'dangling.yaml',
    setup: (dir) => symlink(path.join(dir, 'gone.yaml'), path.join(dir, 'dangling.yaml')),
    names: /dangling\.yaml: is a symlink to .*gone\.yaml, which does not exist/,
  },
];

const root = await mkdtemp(path.join(tmpdir(), 'kubestrap-agent-validation-'));
const procs: Proc[] = [];
after(async () => {
  for (const p of procs) await p.stop(5000);
  killSleepers(tokens);
  await rm(root, { recursive: true, force: true });
});

test(
  'kubestrap agent refuses what the API server would, reports it once, and keeps the healthy pod',
  { skip: process.getuid?.() !== 0 && 'needs root (process runtime)', timeout: 180_000 },
  async (t) => {
    const rootfs = path.join(root, 'rootfs');
    const dir = path.join(rootfs, 'etc/kubernetes/manifests');
    await mkdir(dir, { recursive: true });
    const port = await freePort();
    const cfg = path.join(root, 'agent.yaml');
    // a 1 s relist: the corpus is relisted many times while the test looks for repeated reports
    await writeFile(cfg, 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nfileCheckFrequency: 1s\n');
    const healthy = token();
    await writeFile(path.join(dir, 'web.yaml'), podYaml('web', healthy));

    const agent = await startProcess(
      'agent',
      process.execPath,
      [...NODE_ARGS, 'agent', '--rootfs', rootfs, '--runtime', 'process', '--node-name', 'n1', '--read-only-port', String(port), '--config', cfg],
      {
        logFile: path.join(root, 'agent.log'),
        cwd: REPO,
      },
    );
    procs.push(agent);
    const get = async <T>(p: string): Promise<T> => (await (await fetch(`http://127.0.0.1:${port}${p}`)).json()) as T;
    const pod = async (name: string): Promise<V1Pod | undefined> => (await get<V1PodList>('/pods')).items.find((x) => x.metadata?.name === name);
    const errors = async (): Promise<SourceErrorList['items']> => (await get<SourceErrorList>('/errors')).items;
    const ps = (): string => {
      const r = spawnSync(process.execPath, [...NODE_ARGS, 'ps', '--read-only-port', String(port)], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    };

    await waitFor(
      'agent /healthz',
      async () =>
        (await fetch(`http://127.0.0.1:${port}/healthz`).then(
          (r) => r.ok,
          () => false,
        ))
          ? true
          : undefined,
      60_000,
      100,
    );
    const pid = await waitFor(
      'web running',
      async () => ((await pod('web-n1'))?.status?.containerStatuses?.[0]?.state?.running ? sleepers(healthy)[0] : undefined),
      30_000,
      20,
    );

    const corpusTokens: string[] = [];
    await t.test('an invalid corpus beside it: none runs, each error names its field, once', async () => {
      for (const c of CORPUS) {
        if (c.setup) await c.setup(dir);
        else {
          const tk = token();
          corpusTokens.push(tk);
          await writeFile(path.join(dir, c.file), c.yaml!(tk));
        }
      }
      const items = await waitFor(
        'every corpus file reported',
        async () => {
          const e = await errors();
          return CORPUS.every((c) => e.some((x) => x.origin === path.join(dir, c.file))) ? e : undefined;
        },
        15_000,
        50,
      );
      for (const c of CORPUS) {
        const mine = items.filter((x) => x.origin === path.join(dir, c.file));
        assert.equal(mine.length, 1, `${c.file}: ${JSON.stringify(mine)}`);
        assert.match(mine[0]!.message, c.names, c.file);
        for (const line of mine[0]!.message.split('\n')) assert.ok(line.startsWith(`${path.join(dir, c.file)}: `), `each line names the file: ${line}`);
      }
      // three relists later: nothing ran, nothing was reported again
      const since = new Map(items.map((x) => [x.origin, x.since]));
      await sleep(3500);
      for (const tk of corpusTokens) assert.deepEqual(sleepers(tk), [], `no process of ${tk}`);
      for (const x of await errors()) assert.equal(x.since, since.get(x.origin), `${x.origin} reported again`);
      const log = readFileSync(agent.logFile, 'utf8');
      for (const c of CORPUS) {
        const refusals = log.split('\n').filter((l) => l.includes('manifest refused') && l.includes(path.join(dir, c.file)));
        assert.equal(refusals.length, 1, `${c.file} logged ${refusals.length} times`);
      }
      const table = ps();
      for (const c of CORPUS) assert.match(table, new RegExp(`^error: .*${c.names.source}`, 'm'), `${c.file} in kubestrap ps`);
      assert.deepEqual(sleepers(healthy), [pid], 'the healthy pod keeps its PID');
      assert.deepEqual(
        (await get<V1PodList>('/pods')).items.map((x) => x.metadata?.name),
        ['web-n1'],
      );
    });

    await t.test('an invalid edit of the healthy pod keeps the last good one running', async () => {
      await writeFile(path.join(dir, 'web.yaml'), podYaml('web', token(), { container: '    env:\n    - name: ""\n' }));
      const p = await waitSourceError(pod, 'web-n1');
      assert.match(sourceError(p)!, /web\.yaml: spec\.containers\[0\]\.env\[0\]\.name: Required value/);
      assert.deepEqual(sleepers(healthy), [pid], 'same process, untouched');
    });

    await t.test('a pod that cannot start says why, in /pods and kubestrap ps', async () => {
      const abs = podYaml('abs', token()).replace(/command: \[sleep, "\d+"\]/, 'command: [/no/such/dir/app]');
      const noImage = podYaml('noimage', token())
        .replace('image: busybox:1.36', 'image: example.com/none:1')
        .replace(/command: \[sleep, "\d+"\]/, 'command: [kubestrap-no-such-binary]');
      await writeFile(path.join(dir, 'abs.yaml'), abs);
      await writeFile(path.join(dir, 'noimage.yaml'), noImage);
      const waiting = async (name: string): Promise<{ reason?: string; message?: string }> =>
        waitFor(
          `${name} waiting with a reason`,
          async () => {
            const w = (await pod(name))?.status?.containerStatuses?.[0]?.state?.waiting;
            return w?.reason && w.reason !== 'ContainerCreating' ? w : undefined;
          },
          15_000,
          50,
        );
      const a = await waiting('abs-n1');
      assert.equal(a.reason, 'CreateContainerError');
      assert.match(a.message ?? '', /cannot execute \/no\/such\/dir\/app: no such file/);
      const n = await waiting('noimage-n1');
      assert.equal(n.reason, 'ErrImageNeverPull');
      assert.match(n.message ?? '', /Container image "example\.com\/none:1" is not present/);
      const table = ps();
      assert.match(table, /^kube-system\s+abs-n1\s+0\/1\s+CreateContainerError\s/m);
      assert.match(table, /^kube-system\s+noimage-n1\s+0\/1\s+ErrImageNeverPull\s/m);
      assert.deepEqual(sleepers(healthy), [pid]);
    });

    const status = await agent.stop(20_000);
    assert.equal(status.code, 0, readFileSync(agent.logFile, 'utf8').slice(-3000));
  },
);
