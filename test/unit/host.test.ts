/** Host's remove, move and copy under the rootfs, and what a dry run records and lets reads see. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { Host } from '../../src/host/host.js';

const roots: string[] = [];
after(() => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));
async function root(): Promise<string> {
  const r = await mkdtemp(path.join(tmpdir(), 'kubestrap-host-'));
  roots.push(r);
  return r;
}

test('remove: a tree, a file, contents only, and what is already gone', async () => {
  const r = await root();
  await mkdir(path.join(r, 'etc/kubernetes/pki/etcd'), { recursive: true });
  await writeFile(path.join(r, 'etc/kubernetes/pki/etcd/ca.crt'), 'x');
  await writeFile(path.join(r, 'etc/kubernetes/admin.conf'), 'x');
  const host = new Host(r);
  await host.remove('/etc/kubernetes/admin.conf');
  assert.ok(!existsSync(path.join(r, 'etc/kubernetes/admin.conf')));
  await host.remove('/etc/kubernetes/pki', { contentsOnly: true });
  assert.ok(existsSync(path.join(r, 'etc/kubernetes/pki')));
  assert.ok(!existsSync(path.join(r, 'etc/kubernetes/pki/etcd')));
  await host.remove('/etc/kubernetes');
  assert.ok(!existsSync(path.join(r, 'etc/kubernetes')));
  await host.remove('/etc/kubernetes'); // gone already: fine
});

test('move and copy keep modes; copy leaves the source', async () => {
  const r = await root();
  const host = new Host(r);
  await host.writeFile('/etc/kubernetes/manifests/etcd.yaml', 'a: 1\n', 0o600);
  await host.copy('/etc/kubernetes/manifests', '/etc/kubernetes/tmp/backup/manifests');
  assert.equal((await stat(path.join(r, 'etc/kubernetes/tmp/backup/manifests/etcd.yaml'))).mode & 0o777, 0o600);
  assert.ok(existsSync(path.join(r, 'etc/kubernetes/manifests/etcd.yaml')));
  await host.move('/etc/kubernetes/manifests/etcd.yaml', '/etc/kubernetes/tmp/etcd.yaml');
  assert.ok(!existsSync(path.join(r, 'etc/kubernetes/manifests/etcd.yaml')));
  assert.equal(await readFile(path.join(r, 'etc/kubernetes/tmp/etcd.yaml'), 'utf8'), 'a: 1\n');
});

test('dry run: nothing changes on disk, changes are recorded, reads see planned writes and removals', async () => {
  const r = await root();
  await mkdir(path.join(r, 'etc/kubernetes'), { recursive: true });
  await writeFile(path.join(r, 'etc/kubernetes/admin.conf'), 'old');
  const host = new Host(r, { dryRun: true });
  await host.writeFile('/etc/kubernetes/pki/ca.crt', 'planned', 0o644);
  assert.equal((await host.readOptional('/etc/kubernetes/pki/ca.crt'))?.toString(), 'planned');
  assert.equal(await host.readText('/etc/kubernetes/pki/ca.crt'), 'planned');
  assert.ok(await host.exists('/etc/kubernetes/pki/ca.crt'));
  await host.remove('/etc/kubernetes');
  assert.equal(await host.exists('/etc/kubernetes/admin.conf'), false);
  assert.equal(await host.readOptional('/etc/kubernetes/pki/ca.crt'), undefined);
  await host.writeFile('/etc/kubernetes/admin.conf', 'new');
  assert.equal(await host.readText('/etc/kubernetes/admin.conf'), 'new', 'a write after the removal is seen');
  await host.move('/a', '/b');
  await host.copy('/c', '/d');
  assert.deepEqual(host.plannedChanges, [
    { op: 'remove', path: '/etc/kubernetes' },
    { op: 'move', path: '/a', to: '/b' },
    { op: 'copy', path: '/c', to: '/d' },
  ]);
  assert.deepEqual(
    host.planned.map((w) => w.path),
    ['/etc/kubernetes/pki/ca.crt', '/etc/kubernetes/admin.conf'],
  );
  assert.equal(await readFile(path.join(r, 'etc/kubernetes/admin.conf'), 'utf8'), 'old', 'the disk is untouched');
  assert.ok(!existsSync(path.join(r, 'etc/kubernetes/pki')));
});
