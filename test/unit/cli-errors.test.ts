/** What a user sees when a phase fails: kubeadm's `error execution phase <path>: ...` line, and the cause chain only with --v=5. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { verbosity } from '../../src/cli.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const rootfs = mkdtempSync(path.join(tmpdir(), 'kubestrap-cli-errors-'));
after(() => rmSync(rootfs, { recursive: true, force: true }));
const LAUNCH = `import { main } from ${JSON.stringify(path.join(repo, 'src/cli.ts'))};
process.exitCode = await main(['node', 'kubestrap', ...process.argv.slice(1)]);`;

function kubestrap(args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', LAUNCH, ...args], {
    cwd: repo,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, KUBESTRAP_DEBUG: '', ...env },
  });
  return { code: r.status, stderr: r.stderr };
}

test('a failing phase: one line naming the phase, exit 1; --v=5 and KUBESTRAP_DEBUG=1 add the stack', () => {
  mkdirSync(path.join(rootfs, 'etc/kubernetes/pki'), { recursive: true });
  writeFileSync(path.join(rootfs, 'etc/kubernetes/pki/ca.crt'), 'not a certificate');
  const args = ['init', 'phase', 'certs', 'apiserver', '--rootfs', rootfs];
  const line = `error execution phase certs/apiserver: ${rootfs}/etc/kubernetes/pki/ca.crt: is not a PEM-encoded X.509 certificate (replace or remove it)\n`;
  const plain = kubestrap(args);
  assert.equal(plain.code, 1);
  assert.equal(plain.stderr, line);
  for (const r of [kubestrap([...args, '--v=5']), kubestrap(args, { KUBESTRAP_DEBUG: '1' })]) {
    assert.equal(r.code, 1);
    assert.ok(r.stderr.startsWith(line), r.stderr);
    assert.match(r.stderr, /\n\tat /);
  }
});

test('verbosity: -v N, --v N, --v=N, KUBESTRAP_DEBUG', () => {
  assert.equal(verbosity(['node', 'kubestrap', 'init']), 0);
  assert.equal(verbosity(['node', 'kubestrap', 'init', '--v=5']), 5);
  assert.equal(verbosity(['node', 'kubestrap', 'init', '-v', '3']), 3);
  assert.equal(verbosity(['node', 'kubestrap', 'init', '--v', '7']), 7);
  assert.equal(verbosity(['node', 'kubestrap'], { KUBESTRAP_DEBUG: '1' }), 5);
});

test('agent: a missing --bootstrap-kubeconfig is one line, exit 1, before anything starts or is written', () => {
  const node = mkdtempSync(path.join(tmpdir(), 'kubestrap-cli-errors-agent-'));
  try {
    const r = kubestrap([
      'agent',
      '--rootfs',
      node,
      '--runtime',
      'process',
      '--port',
      '0',
      '--kubeconfig',
      '/etc/kubernetes/kubelet.conf',
      '--bootstrap-kubeconfig',
      '/etc/kubernetes/bootstrap-kubelet.conf',
    ]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `error: ${node}/etc/kubernetes/bootstrap-kubelet.conf: --bootstrap-kubeconfig: does not exist (kubestrap join writes /etc/kubernetes/bootstrap-kubelet.conf)\n`,
    );
    assert.deepEqual(readdirSync(node), [], 'nothing written under the rootfs');
  } finally {
    rmSync(node, { recursive: true, force: true });
  }
});

test('kubestrap lb: bad input is one line naming the flag, exit 1', () => {
  const cases: [string[], string][] = [
    [['lb', '--seed', 'nope'], 'error: --seed: "nope" is not host:port (e.g. 10.0.0.11:6443)\n'],
    [
      ['lb'],
      'error: --seed: no API server to balance over (give --seed <host:port> (repeatable) and/or --kubeconfig to follow the kubernetes EndpointSlice)\n',
    ],
    [['lb', '--seed', '10.0.0.1:6443', '--health-check', 'http'], 'error: --health-check: unknown health check "http" (tcp or readyz)\n'],
  ];
  for (const [args, line] of cases) {
    const r = kubestrap(args);
    assert.equal(r.code, 1, args.join(' '));
    assert.equal(r.stderr, line);
  }
});
