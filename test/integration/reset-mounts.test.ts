/**
 * reset on a node whose etcd data dir is its own mount (etcd on its own disk): the contents go, the
 * mount point stays mounted, and reset ends without an error. Before, reset either unmounted the
 * user's disk (under --rootfs) or failed with EBUSY on rmdir (on a real host). Needs root (mount).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { Host } from '../../src/host/host.js';
import { readMountPoints } from '../../src/host/mountinfo.js';

const isRoot = process.getuid?.() === 0;
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const LAUNCH = `import { main } from ${JSON.stringify(path.join(repo, 'src/cli.ts'))};
process.exitCode = await main(['node', 'kubestrap', ...process.argv.slice(1)]);`;

function mount(dir: string): void {
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'kubestrap-test', dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

async function withMountedDir(fn: (rootfs: string, mounted: string) => Promise<void>): Promise<void> {
  const rootfs = await mkdtemp(path.join(tmpdir(), 'kubestrap-reset-mount-'));
  const mounted = path.join(rootfs, 'var/lib/etcd');
  await mkdir(mounted, { recursive: true });
  mount(mounted);
  try {
    await fn(rootfs, mounted);
  } finally {
    spawnSync('umount', ['-l', mounted]);
    await rm(rootfs, { recursive: true, force: true });
  }
}

test('Host.remove empties a mount point and keeps it (no EBUSY)', { skip: !isRoot && 'needs root (mount)' }, async () => {
  await withMountedDir(async (rootfs, mounted) => {
    await mkdir(path.join(mounted, 'member/snap'), { recursive: true });
    await writeFile(path.join(mounted, 'member/snap/db'), 'data');
    const host = new Host(rootfs);
    await host.remove('/var/lib/etcd');
    assert.deepEqual(await readdir(mounted), []);
    assert.ok((await readMountPoints()).includes(mounted), 'still mounted');
    // the parent is not a mount point: removing it removes everything down to the mount point
    await host.remove('/var/lib');
    assert.ok(existsSync(mounted));
  });
});

test(
  'kubestrap reset --force with /var/lib/etcd on its own mount: contents deleted, mount left in place',
  { skip: !isRoot && 'needs root (mount)', timeout: 60_000 },
  async () => {
    await withMountedDir(async (rootfs, mounted) => {
      await mkdir(path.join(mounted, 'member/wal'), { recursive: true });
      await writeFile(path.join(mounted, 'member/wal/0.wal'), 'wal');
      await mkdir(path.join(rootfs, 'etc/kubernetes/manifests'), { recursive: true });
      await mkdir(path.join(rootfs, 'etc/kubernetes/pki'), { recursive: true });
      await writeFile(path.join(rootfs, 'etc/kubernetes/manifests/etcd.yaml'), 'kind: Pod\n');
      await writeFile(path.join(rootfs, 'etc/kubernetes/pki/ca.crt'), 'x');
      await writeFile(path.join(rootfs, 'etc/kubernetes/admin.conf'), 'x');
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', LAUNCH, 'reset', '--force', '--rootfs', rootfs], {
        cwd: repo,
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(r.status, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /internal error|EBUSY/);
      assert.doesNotMatch(r.stdout, new RegExp(`Unmounting ${mounted}`));
      assert.match(r.stdout, /Deleting contents of directories: \[\/etc\/kubernetes\/manifests \/var\/lib\/etcd /);
      assert.ok((await readMountPoints()).includes(mounted), 'the data disk is still mounted');
      assert.deepEqual(await readdir(mounted), []);
      for (const gone of ['etc/kubernetes/manifests', 'etc/kubernetes/pki', 'etc/kubernetes/admin.conf']) {
        assert.ok(!existsSync(path.join(rootfs, gone)), `${gone} removed`);
      }
    });
  },
);
