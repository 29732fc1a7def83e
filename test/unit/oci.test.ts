import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { componentImageSpec } from '../../src/images/kubernetes.js';
import { buildImage, parseRef, sha256, type ImageSpec } from '../../src/images/oci.js';
import { tar, withParentDirs } from '../../src/images/tar.js';

interface Member {
  name: string;
  type: string;
  mode: number;
  mtime: number;
  content: Buffer;
}

/** Independent ustar reader: checks each header checksum while listing the members. */
function untar(archive: Buffer): Member[] {
  const out: Member[] = [];
  for (let off = 0; off + 512 <= archive.length;) {
    const h = archive.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const str = (start: number, len: number): string =>
      h
        .subarray(start, start + len)
        .toString('utf8')
        .replace(/\0.*$/s, '');
    const num = (start: number, len: number): number => parseInt(str(start, len).trim() || '0', 8);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    assert.equal(num(148, 8), sum, `checksum of header at ${off}`);
    assert.equal(str(257, 6), 'ustar');
    const prefix = str(345, 155);
    const name = prefix ? `${prefix}/${str(0, 100)}` : str(0, 100);
    const size = num(124, 12);
    out.push({ name, type: str(156, 1), mode: num(100, 8), mtime: num(136, 12), content: archive.subarray(off + 512, off + 512 + size) });
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

const spec: ImageSpec = {
  ref: 'registry.example/tool:v1.2.3',
  files: [
    { path: '/usr/local/bin/tool', mode: 0o755, content: Buffer.from('#!/bin/true\n'.repeat(100)) },
    { path: '/etc/passwd', mode: 0o644, content: Buffer.from('root:x:0:0::/:/bin/false\n') },
  ],
  config: { entrypoint: ['/usr/local/bin/tool'], env: ['PATH=/usr/local/bin'], labels: { a: 'b' } },
  platform: { os: 'linux', architecture: 'amd64' },
};

test('tar: parents added, sorted, long names split into prefix', () => {
  const long = `a/${'d'.repeat(90)}/${'e'.repeat(90)}/file`;
  const members = untar(
    tar(
      withParentDirs([
        { path: `/${long}`, type: 'file', mode: 0o600, content: Buffer.from('x') },
        { path: 'b', type: 'file', mode: 0o644 },
      ]),
    ),
  );
  assert.deepEqual(
    members.map((m) => [m.name, m.type]),
    [
      ['a/', '5'],
      [`a/${'d'.repeat(90)}/`, '5'],
      [`a/${'d'.repeat(90)}/${'e'.repeat(90)}/`, '5'],
      [long, '0'],
      ['b', '0'],
    ],
  );
  assert.equal(members[3]!.mode, 0o600);
  assert.equal(members[3]!.content.toString(), 'x');
  assert.ok(members.every((m) => m.mtime === 0));
  assert.throws(() => tar([{ path: 'x'.repeat(101), type: 'file', mode: 0o644 }]), /too long/);
});

test('oci: image layout structure, digests match content', async () => {
  const built = await buildImage(spec);
  const members = untar(built.archive);
  const files = new Map(members.filter((m) => m.type === '0').map((m) => [m.name, m.content]));
  assert.deepEqual(JSON.parse(files.get('oci-layout')!.toString()), { imageLayoutVersion: '1.0.0' });

  // every blob is named after the sha256 of its content
  for (const [name, content] of files) {
    if (!name.startsWith('blobs/')) continue;
    assert.equal(`sha256:${name.slice('blobs/sha256/'.length)}`, sha256(content), name);
  }
  const blob = (digest: string): Buffer => files.get(`blobs/sha256/${digest.slice(7)}`)!;

  const index = JSON.parse(files.get('index.json')!.toString());
  assert.equal(index.schemaVersion, 2);
  assert.equal(index.manifests.length, 1);
  const desc = index.manifests[0];
  assert.equal(desc.digest, built.manifest.digest);
  assert.equal(desc.annotations['org.opencontainers.image.ref.name'], 'v1.2.3');
  assert.equal(desc.annotations['io.containerd.image.name'], 'registry.example/tool:v1.2.3');
  assert.deepEqual(desc.platform, { os: 'linux', architecture: 'amd64' });
  assert.equal(desc.size, blob(desc.digest).length);

  const manifest = JSON.parse(blob(desc.digest).toString());
  assert.equal(manifest.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  assert.equal(manifest.config.size, blob(manifest.config.digest).length);
  assert.equal(manifest.layers[0].mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
  const layerGz = blob(manifest.layers[0].digest);
  assert.equal(manifest.layers[0].size, layerGz.length);

  const config = JSON.parse(blob(manifest.config.digest).toString());
  const layerTar = gunzipSync(layerGz);
  assert.deepEqual(config.rootfs, { type: 'layers', diff_ids: [sha256(layerTar)] });
  assert.equal(built.diffId, sha256(layerTar));
  assert.deepEqual(config.config.Entrypoint, ['/usr/local/bin/tool']);
  assert.deepEqual(config.config.Labels, { a: 'b' });
  assert.equal(config.architecture, 'amd64');

  const layer = untar(layerTar);
  assert.deepEqual(
    layer.map((m) => m.name),
    ['etc/', 'etc/passwd', 'usr/', 'usr/local/', 'usr/local/bin/', 'usr/local/bin/tool'],
  );
  const tool = layer.find((m) => m.name === 'usr/local/bin/tool')!;
  assert.equal(tool.mode, 0o755);
  assert.deepEqual(tool.content, spec.files[0]!.content);
});

test('oci: deterministic, and content changes change the digests', async () => {
  const a = await buildImage(spec);
  const b = await buildImage({ ...spec, files: [...spec.files].reverse() });
  assert.ok(a.archive.equals(b.archive), 'same input in any order gives the same bytes');
  assert.equal(a.manifest.digest, b.manifest.digest);
  const changed = await buildImage({ ...spec, files: [{ ...spec.files[0]!, content: Buffer.from('other') }, spec.files[1]!] });
  assert.notEqual(changed.layer.digest, a.layer.digest);
  assert.notEqual(changed.manifest.digest, a.manifest.digest);
});

test('oci: GNU tar reads the archive and the layer', async (t) => {
  try {
    execFileSync('tar', ['--version'], { stdio: 'ignore' });
  } catch {
    t.skip('no tar on this machine');
    return;
  }
  const built = await buildImage(componentImageSpec('pause', 'registry.k8s.io/pause:3.10.1', Buffer.from('binary')));
  const dir = mkdtempSync(path.join(tmpdir(), 'oci-test-'));
  try {
    writeFileSync(path.join(dir, 'image.tar'), built.archive);
    const listing = execFileSync('tar', ['-tvf', path.join(dir, 'image.tar')], { encoding: 'utf8' });
    assert.match(listing, /index\.json/);
    assert.match(listing, new RegExp(built.layer.digest.slice(7)));
    execFileSync('tar', ['-xf', path.join(dir, 'image.tar'), '-C', dir]);
    const layer = execFileSync('tar', ['-tvzf', path.join(dir, 'blobs/sha256', built.layer.digest.slice(7))], { encoding: 'utf8' });
    assert.match(layer, /^-rwxr-xr-x root\/root +6 1970-01-01 00:00 pause$/m);
    assert.match(layer, /^drwxrwxrwt root\/root +0 1970-01-01 00:00 tmp\/$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('parseRef', () => {
  assert.deepEqual(parseRef('registry.k8s.io/etcd:3.6.5-0'), { name: 'registry.k8s.io/etcd', tag: '3.6.5-0' });
  assert.deepEqual(parseRef('localhost:5000/x:y'), { name: 'localhost:5000/x', tag: 'y' });
  assert.throws(() => parseRef('localhost:5000/x'), /name:tag/);
  assert.throws(() => parseRef('x@sha256:abc'), /name:tag/);
});

test('tar: a symlink entry, as GNU tar reads it; a target over 100 bytes is refused', (t) => {
  try {
    execFileSync('tar', ['--version'], { stdio: 'ignore' });
  } catch {
    t.skip('no tar on this machine');
    return;
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'tar-link-test-'));
  try {
    const archive = tar(
      withParentDirs([
        { path: 'usr/sbin/xtables-nft-multi', type: 'file', mode: 0o755, content: Buffer.from('elf') },
        { path: 'usr/sbin/iptables-restore', type: 'symlink', mode: 0o777, linkTarget: 'xtables-nft-multi' },
      ]),
    );
    writeFileSync(path.join(dir, 'l.tar'), archive);
    const listing = execFileSync('tar', ['-tvf', path.join(dir, 'l.tar')], { encoding: 'utf8' });
    assert.match(listing, /^lrwxrwxrwx root\/root +0 1970-01-01 00:00 usr\/sbin\/iptables-restore -> xtables-nft-multi$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => tar([{ path: 'l', type: 'symlink', mode: 0o777, linkTarget: 'x'.repeat(101) }]), /target of 1\.\.100 bytes/);
});
