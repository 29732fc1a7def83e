/**
 * The config module through the real CLI (src/cli.ts main, in a child process so exit code and
 * stderr are what a user sees): bad input is one stderr line, exit 1, and nothing is written.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'kubestrap-config-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const LAUNCH = `import { main } from ${JSON.stringify(path.join(repo, 'src/cli.ts'))};
process.exitCode = await main(['node', 'kubestrap', ...process.argv.slice(1)]);`;

function kubestrap(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', LAUNCH, ...args], {
    cwd: repo,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('init with a bad config: exit 1, one stderr line, no stack trace, nothing written under --rootfs', () => {
  const rootfs = mkdtempSync(path.join(dir, 'rootfs-'));
  const cfg = path.join(dir, 'bad.yaml');
  writeFileSync(cfg, 'apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nnetworking:\n  podSubnett: 10.244.0.0/16\n');
  const r = kubestrap('init', '--config', cfg, '--rootfs', rootfs);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `error: ${cfg}: networking.podSubnett: unknown field in ClusterConfiguration (did you mean "podSubnet"?)\n`);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.deepEqual(readdirSync(rootfs), []);
});

test('init mixing --config with a forbidden flag fails the same way', () => {
  const rootfs = mkdtempSync(path.join(dir, 'rootfs-'));
  const cfg = path.join(dir, 'ok.yaml');
  writeFileSync(cfg, 'apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n');
  const r = kubestrap('init', '--config', cfg, '--pod-network-cidr', '10.244.0.0/16', '--rootfs', rootfs);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, "error: can not mix '--config' with arguments [pod-network-cidr] (set networking.podSubnet in the config file instead)\n");
  assert.deepEqual(readdirSync(rootfs), []);
});

test('config print init-defaults feeds config images list --config', () => {
  const printed = kubestrap('config', 'print', 'init-defaults');
  assert.equal(printed.code, 0, printed.stderr);
  const cfg = path.join(dir, 'defaults.yaml');
  writeFileSync(cfg, printed.stdout);
  const r = kubestrap('config', 'images', 'list', '--config', cfg);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.equal(
    r.stdout,
    [
      'registry.k8s.io/kube-apiserver:v1.37.2',
      'registry.k8s.io/kube-controller-manager:v1.37.2',
      'registry.k8s.io/kube-scheduler:v1.37.2',
      'registry.k8s.io/kube-proxy:v1.37.2',
      'registry.k8s.io/coredns/coredns:v1.14.6',
      'registry.k8s.io/pause:3.10.2',
      'registry.k8s.io/etcd:3.7.0-0',
      '',
    ].join('\n'),
  );
});
