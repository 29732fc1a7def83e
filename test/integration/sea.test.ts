/**
 * `npm run build:sea` → dist/kubestrap (the single executable the Vagrant lab runs): the same
 * output, exit code and files as `node bin/kubestrap.js` for commands that read every kind of
 * shipped file — package.json (`version`), the templates (`init --dry-run` renders all four
 * manifests), the CRI proto (the same dry run against a private containerd, whose version preflight
 * asks through the CRI client) — and for bad input (one line, exit 1).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startContainerd, type PrivateContainerd } from '../support/containerd.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const sea = path.join(root, 'dist', 'kubestrap');
const isRoot = process.getuid?.() === 0;
const work = mkdtempSync(path.join(os.tmpdir(), 'sea-test-'));
/** A fixed token, so the two dry runs print the same join command up to the (random) CA's hash. */
const TOKEN = 'abcdef.0123456789abcdef';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: work, maxBuffer: 32 * 1024 * 1024, env: { ...process.env, NODE_OPTIONS: '' } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Each run's own random values: the CA (its hash in the join command) and the rootfs path. */
function normalise(r: Run, rootfs?: string): Run {
  const clean = (s: string): string => {
    let out = s.replace(/sha256:[0-9a-f]{64}/g, 'sha256:<hash>');
    if (rootfs) out = out.split(rootfs).join('<rootfs>');
    return out;
  };
  return { code: r.code, stdout: clean(r.stdout), stderr: clean(r.stderr) };
}

/** The same command through the single executable and through node; both results, normalised. */
async function both(args: (rootfs: string) => string[]): Promise<{ sea: Run; node: Run }> {
  const seaRoot = mkdtempSync(path.join(work, 'sea-'));
  const nodeRoot = mkdtempSync(path.join(work, 'node-'));
  const [a, b] = await Promise.all([run(sea, args(seaRoot)), run(process.execPath, [path.join(root, 'bin', 'kubestrap.js'), ...args(nodeRoot)])]);
  return { sea: normalise(a, seaRoot), node: normalise(b, nodeRoot) };
}

let ctrd: PrivateContainerd | undefined;

/** `init --dry-run` of one node at a fixed address and token, every preflight check a warning. */
function dryRunInit(rootfs: string, extra: readonly string[] = []): string[] {
  const flags = ['--apiserver-advertise-address', '10.1.2.3', '--node-name', 'n1', '--token', TOKEN, '--ignore-preflight-errors=all'];
  return ['init', '--dry-run', '--rootfs', rootfs, ...extra, ...flags];
}

before(async () => {
  await new Promise<void>((resolve, reject) => {
    execFile('npm', ['run', 'build:sea'], { cwd: root, maxBuffer: 16 * 1024 * 1024 }, (err, _stdout, stderr) =>
      err ? reject(new Error(`build:sea failed: ${stderr}`)) : resolve(),
    );
  });
});

after(async () => {
  await ctrd?.stop();
  await rm(work, { recursive: true, force: true });
});

test('build:sea makes one executable file', () => {
  assert.ok(existsSync(sea), 'dist/kubestrap exists');
  const st = statSync(sea);
  assert.ok(st.mode & 0o111, 'it is executable');
  // Node itself is most of it (≈ 120 MiB); the CLI, its dependencies and the assets a few MiB
  assert.ok(st.size > 50 * 2 ** 20 && st.size < 250 * 2 ** 20, `size ${st.size}`);
});

for (const args of [
  ['version'],
  ['version', '-o', 'json'],
  ['config', 'images', 'list'],
  ['config', 'images', 'list', '--kubernetes-version', 'v1.36.3'],
  ['config', 'print', 'init-defaults'],
]) {
  test(`kubestrap ${args.join(' ')}: same output`, async () => {
    const r = await both(() => args);
    assert.equal(r.sea.code, 0, r.sea.stderr);
    assert.deepEqual(r.sea, r.node);
  });
}

test('kubestrap init --dry-run (process runtime): same phases, manifests and join command', async () => {
  const r = await both((rootfs) => dryRunInit(rootfs));
  assert.equal(r.sea.code, 0, r.sea.stderr);
  assert.match(r.sea.stdout, /kind: Pod/);
  assert.match(r.sea.stdout, /kubestrap join 10\.1\.2\.3:6443 --token abcdef\.0123456789abcdef/);
  assert.deepEqual(r.sea, r.node);
});

test('bad input: the same one line and exit 1', async () => {
  const r = await both((rootfs) => ['init', '--dry-run', '--rootfs', rootfs, '--pod-network-cidr', 'not-a-cidr']);
  assert.equal(r.sea.code, 1);
  assert.deepEqual(r.sea, r.node);
  assert.doesNotMatch(r.sea.stderr, /\n\s+at /, 'no stack trace');
});

test(
  'kubestrap init --dry-run --runtime cri: the CRI proto works from the embedded asset',
  { skip: !isRoot && 'needs root (private containerd)' },
  async () => {
    ctrd = await startContainerd();
    const r = await both((rootfs) => dryRunInit(rootfs, ['--runtime', 'cri', '--cri-socket', `unix://${ctrd!.socket}`]));
    assert.equal(r.sea.code, 0, r.sea.stderr);
    assert.doesNotMatch(`${r.sea.stdout}${r.sea.stderr}`, /container runtime is not running|api\.proto/);
    assert.deepEqual(r.sea, r.node);
  },
);
