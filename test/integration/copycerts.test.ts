/**
 * upload-certs → download-certs on a real API server: init's upload-certs phase seals the shared
 * files into kube-system/kubeadm-certs; a second rootfs downloads them with the printed key and gets
 * the same bytes. A wrong key and a deleted Secret (what its 2 h TTL does) fail with their own line.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Host } from '../../src/host/host.js';
import { kubeClient, type KubeClient } from '../../src/kube/client.js';
import { generateCertificateKey } from '../../src/kube/copycerts.js';
import { memoryPrinter } from '../../src/output.js';
import { certsToTransfer, downloadCerts, missingSharedCerts, sharedCertsPlace } from '../../src/phases/copycerts.js';
import { InitData } from '../../src/phases/init/data.js';
import { INIT_PHASES } from '../../src/phases/init/index.js';
import { Runner } from '../../src/phases/runner.js';
import { startControlPlane, type ControlPlane } from '../support/apiserver.js';

let cp: ControlPlane;
let client: KubeClient;
let rootfs: string;
let key: string;

before(async () => {
  cp = await startControlPlane();
  const ctx = new InitData({ config: cp.config, host: cp.host, out: memoryPrinter(), dryRun: false, uploadCerts: true });
  await new Runner(INIT_PHASES.filter((p) => p.name === 'upload-certs')).run(ctx);
  key = ctx.chosenCertificateKey()!;
  assert.match(key, /^[0-9a-f]{64}$/);
  client = await kubeClient(cp.kubeconfig('admin'), cp.host);
  rootfs = await mkdtemp(path.join(os.tmpdir(), 'kubestrap-cp2-'));
});

after(async () => {
  await cp?.stop();
  if (rootfs) await rm(rootfs, { recursive: true, force: true });
});

test('download into another rootfs: the same bytes as the uploading node', async () => {
  const host = new Host(rootfs);
  assert.equal((await missingSharedCerts(host, sharedCertsPlace(cp.config))).length, 8);
  const written = await downloadCerts(host, sharedCertsPlace(cp.config), client, key);
  assert.equal(written.length, 8);
  for (const [name, file] of certsToTransfer(sharedCertsPlace(cp.config))) {
    assert.deepEqual(await host.readOptional(file), await cp.host.readOptional(file), name);
  }
  assert.deepEqual(await missingSharedCerts(host, sharedCertsPlace(cp.config)), []);
});

test('a wrong key, then the Secret deleted: two different lines, nothing written', async () => {
  const host = new Host(path.join(rootfs, 'other'));
  await assert.rejects(downloadCerts(host, sharedCertsPlace(cp.config), client, generateCertificateKey()), (err: Error & { reason: string }) => {
    assert.equal(err.reason, 'wrong-key');
    assert.match(err.message, /^the certificate key does not decrypt Secret "kube-system\/kubeadm-certs"/);
    return true;
  });
  await client.core.deleteNamespacedSecret({ namespace: 'kube-system', name: 'kubeadm-certs' });
  await assert.rejects(downloadCerts(host, sharedCertsPlace(cp.config), client, key), (err: Error & { reason: string }) => {
    assert.equal(err.reason, 'gone');
    assert.match(err.message, /^Secret "kubeadm-certs" was not found in the "kube-system" Namespace/);
    return true;
  });
  assert.equal((await missingSharedCerts(host, sharedCertsPlace(cp.config))).length, 8);
});
