/** Preflight: kubeadm's check names, its report format, and --ignore-preflight-errors. */
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { InitFlags } from '../../src/config/flags.js';
import type { RuntimeKind } from '../../src/config/types.js';
import { PreflightError } from '../../src/errors.js';
import { Host } from '../../src/host/host.js';
import { InitData } from '../../src/phases/init/data.js';
import { memoryPrinter } from '../../src/output.js';
import { chooseRuntime, initChecks, runChecks, runPreflight, type PreflightFacts } from '../../src/phases/init/preflight.js';
import { testConfig } from '../support/config-fixture.js';

const temps: string[] = [];
async function tempRoot(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kubestrap-preflight-'));
  temps.push(dir);
  return dir;
}

/** A port something already listens on, configured as the API server's bindPort. */
let busy: Server;
let busyPort: number;
before(async () => {
  busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, resolve));
  busyPort = (busy.address() as { port: number }).port;
});
after(async () => {
  await new Promise((resolve) => busy.close(resolve));
  await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })));
});

const goodFacts: PreflightFacts = {
  uid: () => 0,
  cpus: () => 4,
  memoryMB: () => 8192,
  path: () => '',
  criVersion: async () => ({ runtimeName: 'containerd', runtimeVersion: 'v2.4.2' }),
};

/** `auto` leaves ctx.runtime unset, as when --runtime is not given. */
function context(root: string, flags: Partial<InitFlags> = {}, runtime: RuntimeKind | 'auto' = 'cri') {
  // The CRI socket is a real path (never rootfs-mapped); put it inside the temp dir.
  const config = testConfig({ criSocket: `unix://${root}/var/run/containerd/containerd.sock`, ...flags });
  return new InitData({
    config,
    host: new Host(root),
    out: memoryPrinter(),
    dryRun: false,
    runtime: runtime === 'auto' ? undefined : runtime,
    uploadCerts: false,
  });
}

/** The CRI "socket" context() configures: the check only needs it to exist. */
async function withCriSocket(root: string): Promise<void> {
  await mkdir(path.join(root, 'var/run/containerd'), { recursive: true });
  await writeFile(path.join(root, 'var/run/containerd/containerd.sock'), '');
}

/** Runs the init checks, returning the lines for the named checks only (other ports may be busy on a shared machine). */
async function linesFor(ctx: InitData, names: string[], facts = goodFacts): Promise<{ errors: string[]; warnings: string[] }> {
  const checks = (await initChecks(ctx, facts)).filter((c) => names.includes(c.name));
  assert.deepEqual(checks.map((c) => c.name).sort(), [...names].sort(), 'every named check exists');
  const r = await runChecks(checks, ctx.config.ignorePreflightErrors);
  return { errors: r.errors, warnings: r.warnings };
}

test("kubeadm's check names for init with local etcd", async () => {
  const root = await tempRoot();
  await withCriSocket(root);
  const names = (await initChecks(context(root), goodFacts)).map((c) => c.name);
  assert.deepEqual(names, [
    'NumCPU',
    'Mem',
    'Port-6443',
    'Port-10259',
    'Port-10257',
    'FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml',
    'FileAvailable--etc-kubernetes-manifests-kube-controller-manager.yaml',
    'FileAvailable--etc-kubernetes-manifests-kube-scheduler.yaml',
    'FileAvailable--etc-kubernetes-manifests-etcd.yaml',
    'CRI',
    'ContainerRuntimeVersion',
    'Port-2379',
    'Port-2380',
    'DirAvailable--var-lib-etcd',
  ]);
});

test('a port in use is an error; a free one passes', async () => {
  const root = await tempRoot();
  const ctx = context(root, { apiserverBindPort: String(busyPort) });
  assert.deepEqual(await linesFor(ctx, [`Port-${busyPort}`]), { errors: [`\t[ERROR Port-${busyPort}]: Port ${busyPort} is in use`], warnings: [] });
  const free = createServer();
  await new Promise<void>((resolve) => free.listen(0, resolve));
  const freePort = (free.address() as { port: number }).port;
  await new Promise((resolve) => free.close(resolve));
  assert.deepEqual(await linesFor(context(root, { apiserverBindPort: String(freePort) }), [`Port-${freePort}`]), { errors: [], warnings: [] });
});

test('an existing manifest and a non-empty etcd data dir are errors; an empty data dir is fine', async () => {
  const root = await tempRoot();
  const names = ['FileAvailable--etc-kubernetes-manifests-etcd.yaml', 'DirAvailable--var-lib-etcd'];
  await mkdir(path.join(root, 'var/lib/etcd'), { recursive: true });
  assert.deepEqual(await linesFor(context(root), names), { errors: [], warnings: [] });
  await mkdir(path.join(root, 'etc/kubernetes/manifests'), { recursive: true });
  await writeFile(path.join(root, 'etc/kubernetes/manifests/etcd.yaml'), 'x');
  await mkdir(path.join(root, 'var/lib/etcd/member'));
  assert.deepEqual((await linesFor(context(root), names)).errors, [
    `\t[ERROR FileAvailable--etc-kubernetes-manifests-etcd.yaml]: ${root}/etc/kubernetes/manifests/etcd.yaml already exists`,
    `\t[ERROR DirAvailable--var-lib-etcd]: ${root}/var/lib/etcd is not empty`,
  ]);
});

test('NumCPU and Mem use the thresholds kubeadm uses (2 CPUs, 1700 MB)', async () => {
  const root = await tempRoot();
  const small: PreflightFacts = { ...goodFacts, cpus: () => 1, memoryMB: () => 1699 };
  assert.deepEqual((await linesFor(context(root), ['NumCPU', 'Mem'], small)).errors, [
    '\t[ERROR NumCPU]: the number of available CPUs 1 is less than the required 2',
    '\t[ERROR Mem]: the system RAM (1699 MB) is less than the minimum 1700 MB',
  ]);
  const enough: PreflightFacts = { ...goodFacts, cpus: () => 2, memoryMB: () => 1700 };
  assert.deepEqual((await linesFor(context(root), ['NumCPU', 'Mem'], enough)).errors, []);
});

describe('runtime checks', () => {
  test('cri: the CRI socket must exist', async () => {
    const root = await tempRoot();
    assert.deepEqual((await linesFor(context(root), ['CRI'])).errors, [
      `\t[ERROR CRI]: container runtime is not running: ${root}/var/run/containerd/containerd.sock does not exist`,
    ]);
    await withCriSocket(root);
    assert.deepEqual((await linesFor(context(root), ['CRI'])).errors, []);
  });

  test('process: each control-plane binary from the image directory or PATH', async () => {
    const root = await tempRoot();
    const names = ['FileExisting-etcd', 'FileExisting-kube-apiserver', 'FileExisting-kube-controller-manager', 'FileExisting-kube-scheduler'];
    const missing = await linesFor(context(root, {}, 'process'), names);
    assert.equal(missing.errors.length, 4);
    assert.match(
      missing.errors[0]!,
      /^\t\[ERROR FileExisting-etcd\]: etcd not found in .*\/var\/lib\/kubestrap\/images\/<repository>\/<tag> for registry\.k8s\.io\/etcd:3\.7\.0-0 or in the system path$/,
    );
    // etcd from the image directory, the others from PATH.
    const imageDir = path.join(root, 'var/lib/kubestrap/images/registry.k8s.io/etcd/3.7.0-0');
    const pathDir = path.join(root, 'bin');
    await mkdir(imageDir, { recursive: true });
    await mkdir(pathDir);
    const files = [path.join(imageDir, 'etcd'), ...['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].map((b) => path.join(pathDir, b))];
    for (const f of files) {
      await writeFile(f, '#!/bin/sh\n');
      await chmod(f, 0o755);
    }
    const facts = { ...goodFacts, path: () => `/nonexistent:${pathDir}` };
    assert.deepEqual((await linesFor(context(root, {}, 'process'), names, facts)).errors, []);
  });

  test('no --runtime: cri when the CRI socket exists, else process', async () => {
    const root = await tempRoot();
    assert.equal(await chooseRuntime(context(root, {}, 'auto')), 'process');
    assert.ok((await initChecks(context(root, {}, 'auto'), goodFacts)).some((c) => c.name === 'FileExisting-kube-apiserver'));
    await withCriSocket(root);
    assert.equal(await chooseRuntime(context(root, {}, 'auto')), 'cri');
    assert.equal(await chooseRuntime(context(root, {}, 'process')), 'process');
  });
});

describe('ContainerRuntimeVersion', () => {
  const asking = (runtimeName: string, runtimeVersion: string) => {
    const asked: string[] = [];
    const facts: PreflightFacts = {
      ...goodFacts,
      criVersion: async (endpoint) => {
        asked.push(endpoint);
        return { runtimeName, runtimeVersion };
      },
    };
    return { asked, facts };
  };

  test('containerd 1.x is a warning, not an error; the runtime is asked at the configured endpoint', async () => {
    const root = await tempRoot();
    await withCriSocket(root);
    const { asked, facts } = asking('containerd', '1.6.20~ds1');
    assert.deepEqual(await linesFor(context(root), ['ContainerRuntimeVersion'], facts), {
      errors: [],
      warnings: [
        '\t[WARNING ContainerRuntimeVersion]: containerd 1.6.20~ds1 is out of support; the kubelet drops containerd 1.x in v1.38: upgrade to containerd 2.x',
      ],
    });
    assert.deepEqual(asked, [`unix://${root}/var/run/containerd/containerd.sock`]);
  });

  test('containerd 2.x, other runtimes, a missing socket and the process runtime: nothing to say', async () => {
    const root = await tempRoot();
    await withCriSocket(root);
    for (const [name, version] of [
      ['containerd', 'v2.4.2'],
      ['containerd', '2.0.0-rc.1'],
      ['cri-o', '1.30.0'],
    ] as const) {
      assert.deepEqual(await linesFor(context(root), ['ContainerRuntimeVersion'], asking(name, version).facts), { errors: [], warnings: [] });
    }
    const { asked, facts } = asking('containerd', '1.7.24');
    const noSocket = await tempRoot();
    assert.deepEqual(await linesFor(context(noSocket), ['ContainerRuntimeVersion'], facts), { errors: [], warnings: [] });
    assert.deepEqual(asked, [], 'no socket: nothing is dialled');
    const processChecks = await initChecks(context(root, {}, 'process'), facts);
    assert.ok(!processChecks.some((c) => c.name === 'ContainerRuntimeVersion'));
  });

  test('the warning prints even when the phase fails on errors, and with every check ignored', async () => {
    const root = await tempRoot();
    await withCriSocket(root);
    const { facts } = asking('containerd', 'v1.7.24');
    const ctx = context(root, { apiserverBindPort: String(busyPort) });
    await assert.rejects(runPreflight(ctx, facts), PreflightError);
    const warning =
      '\t[WARNING ContainerRuntimeVersion]: containerd 1.7.24 is out of support; the kubelet drops containerd 1.x in v1.38: upgrade to containerd 2.x';
    assert.ok(ctx.out.lines.includes(warning), ctx.out.lines.join('\n'));
    const all = context(root, { apiserverBindPort: String(busyPort), ignorePreflightErrors: 'all' });
    await runPreflight(all, facts);
    assert.equal(all.out.lines.filter((l) => l === warning).length, 1);
  });
});

describe('the phase', () => {
  test("collects every error, prints kubeadm's report, then throws one PreflightError", async () => {
    const root = await tempRoot();
    await mkdir(path.join(root, 'etc/kubernetes/manifests'), { recursive: true });
    await writeFile(path.join(root, 'etc/kubernetes/manifests/kube-scheduler.yaml'), 'x');
    const ctx = context(root, { apiserverBindPort: String(busyPort) });
    const err = await runPreflight(ctx, goodFacts).catch((e: unknown) => e);
    assert.ok(err instanceof PreflightError);
    assert.match(
      err.message,
      new RegExp(`^preflight checks failed: .*Port-${busyPort}, .*FileAvailable--etc-kubernetes-manifests-kube-scheduler\\.yaml, .*CRI`),
    );
    const out = ctx.out.lines.join('\n').split('\n');
    assert.equal(out[0], '[preflight] Running pre-flight checks');
    assert.equal(out[1], '[preflight] Some fatal errors occurred:');
    assert.ok(out.includes(`\t[ERROR Port-${busyPort}]: Port ${busyPort} is in use`));
    assert.ok(
      out.includes(
        `\t[ERROR FileAvailable--etc-kubernetes-manifests-kube-scheduler.yaml]: ${root}/etc/kubernetes/manifests/kube-scheduler.yaml already exists`,
      ),
    );
    assert.equal(out.at(-1), '[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`');
  });

  test('ignored checks (any case, unknown names accepted) become warnings', async () => {
    const root = await tempRoot();
    await withCriSocket(root);
    const ignore = `PORT-${busyPort},filEavailable--etc-kubernetes-manifests-etcd.yaml,NoSuchCheck`;
    await mkdir(path.join(root, 'etc/kubernetes/manifests'), { recursive: true });
    await writeFile(path.join(root, 'etc/kubernetes/manifests/etcd.yaml'), 'x');
    const ctx = context(root, { apiserverBindPort: String(busyPort), ignorePreflightErrors: ignore });
    const names = [`Port-${busyPort}`, 'FileAvailable--etc-kubernetes-manifests-etcd.yaml', 'CRI'];
    assert.deepEqual(await linesFor(ctx, names), {
      errors: [],
      warnings: [
        `\t[WARNING Port-${busyPort}]: Port ${busyPort} is in use`,
        `\t[WARNING FileAvailable--etc-kubernetes-manifests-etcd.yaml]: ${root}/etc/kubernetes/manifests/etcd.yaml already exists`,
      ],
    });
  });

  test('`all` ignores every check, the phase passes and prints warnings', async () => {
    const root = await tempRoot();
    const ctx = context(root, { apiserverBindPort: String(busyPort), ignorePreflightErrors: 'all' });
    await runPreflight(ctx, { ...goodFacts, cpus: () => 1 });
    assert.equal(ctx.out.lines[0], '[preflight] Running pre-flight checks');
    assert.ok(ctx.out.lines.includes(`\t[WARNING Port-${busyPort}]: Port ${busyPort} is in use`));
    assert.ok(ctx.out.lines.includes('\t[WARNING NumCPU]: the number of available CPUs 1 is less than the required 2'));
    assert.ok(!ctx.out.lines.some((l) => l.includes('[ERROR')));
  });

  test('IsPrivilegedUser runs alone first and stops preflight', async () => {
    const root = await tempRoot();
    const ctx = context(root);
    const err = await runPreflight(ctx, { ...goodFacts, uid: () => 1000 }).catch((e: unknown) => e);
    assert.ok(err instanceof PreflightError);
    assert.equal(err.message, 'preflight checks failed: IsPrivilegedUser');
    assert.deepEqual(ctx.out.lines, [
      '[preflight] Some fatal errors occurred:\n\t[ERROR IsPrivilegedUser]: user is not running as root\n[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`',
    ]);
  });
});
