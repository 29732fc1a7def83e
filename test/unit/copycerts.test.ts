/** download-certs: the two clear errors (Secret gone vs. wrong key), file modes, kubeadm's manual mode. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ApiException, type V1Secret } from '@kubernetes/client-node';
import { Host } from '../../src/host/host.js';
import type { KubeClient } from '../../src/kube/client.js';
import { CertsSecretError, decryptCertsSecret, encryptWithCertificateKey, generateCertificateKey } from '../../src/kube/copycerts.js';
import { downloadCerts, missingSharedCerts, requireSharedCerts, sharedCertsPlace, type SharedCertsPlace } from '../../src/phases/copycerts.js';
import { testConfig } from '../support/config-fixture.js';

const config: SharedCertsPlace = { ...sharedCertsPlace(testConfig()), apiTimeoutMs: 1000 };
const FILES = ['ca.crt', 'ca.key', 'front-proxy-ca.crt', 'front-proxy-ca.key', 'sa.key', 'sa.pub', 'etcd-ca.crt', 'etcd-ca.key'];

function sealedSecret(key: string, skip: string[] = []): V1Secret {
  const data = Object.fromEntries(
    FILES.filter((f) => !skip.includes(f)).map((f) => [f, encryptWithCertificateKey(`content of ${f}\n`, key).toString('base64')]),
  );
  return { metadata: { name: 'kubeadm-certs', namespace: 'kube-system' }, data };
}

function fakeClient(answer: () => Promise<V1Secret>): KubeClient {
  return { core: { readNamespacedSecret: answer } } as unknown as KubeClient;
}

async function withRootfs(fn: (host: Host, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kubestrap-copycerts-'));
  try {
    await fn(new Host(dir), dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('download writes every shared file, keys 0600 and certificates 0644', async () => {
  const key = generateCertificateKey();
  await withRootfs(async (host, dir) => {
    const written = await downloadCerts(
      host,
      config,
      fakeClient(async () => sealedSecret(key)),
      key,
    );
    assert.equal(written.length, 8);
    const mode = async (rel: string): Promise<string> => ((await stat(path.join(dir, 'etc/kubernetes/pki', rel))).mode & 0o777).toString(8);
    assert.equal(await mode('ca.crt'), '644');
    assert.equal(await mode('ca.key'), '600');
    assert.equal(await mode('etcd/ca.key'), '600');
    assert.equal(await mode('sa.pub'), '600'); // as init writes it
    assert.equal(await host.readText('/etc/kubernetes/pki/etcd/ca.crt'), 'content of etcd-ca.crt\n');
    assert.deepEqual(await missingSharedCerts(host, config), []);
  });
});

test('the Secret gone (2 h TTL) and a wrong key are two different errors, each naming the fix; nothing written', async () => {
  const key = generateCertificateKey();
  await withRootfs(async (host, dir) => {
    const gone = fakeClient(async () => {
      throw new ApiException(404, 'not found', JSON.stringify({ kind: 'Status', reason: 'NotFound', code: 404 }), {});
    });
    await assert.rejects(downloadCerts(host, config, gone, key), (err: CertsSecretError) => {
      assert.equal(err.reason, 'gone');
      assert.equal(
        err.oneLine(),
        'Secret "kubeadm-certs" was not found in the "kube-system" Namespace: it is deleted 2 h after the upload (its bootstrap token expires) ' +
          '(run `kubestrap init phase upload-certs --upload-certs` on a control-plane node and join with the certificate key it prints)',
      );
      return true;
    });
    await assert.rejects(
      downloadCerts(
        host,
        config,
        fakeClient(async () => sealedSecret(key)),
        generateCertificateKey(),
      ),
      (err: CertsSecretError) => {
        assert.equal(err.reason, 'wrong-key');
        assert.match(
          err.oneLine(),
          /^certificateKey: the certificate key does not decrypt Secret "kube-system\/kubeadm-certs" \(entry ca\.crt: message authentication failed\): the certificates were uploaded with another key \(run `kubestrap init phase upload-certs --upload-certs`/,
        );
        return true;
      },
    );
    assert.throws(() => decryptCertsSecret({}, 'abc'), /^ConfigError: the certificate key must be 64 hexadecimal characters/);
    await assert.rejects(
      downloadCerts(
        host,
        config,
        fakeClient(async () => sealedSecret(key, ['sa.pub'])),
        key,
      ),
      /lacks sa\.pub/,
    );
    assert.equal((await missingSharedCerts(host, config)).length, 8, 'nothing written');
    await assert.rejects(stat(path.join(dir, 'etc')), /ENOENT/);
  });
});

test('a CA key left out at upload (external CA) is not written and not required', async () => {
  const key = generateCertificateKey();
  await withRootfs(async (host) => {
    const written = await downloadCerts(
      host,
      config,
      fakeClient(async () => sealedSecret(key, ['ca.key'])),
      key,
    );
    assert.equal(written.length, 7);
    assert.deepEqual(await missingSharedCerts(host, config), ['/etc/kubernetes/pki/ca.key']);
  });
});

test('manual mode names every missing shared file', async () => {
  await withRootfs(async (host, dir) => {
    await host.mkdir('/etc/kubernetes/pki', 0o755);
    for (const f of ['ca.crt', 'ca.key', 'front-proxy-ca.crt', 'sa.pub']) await host.writeFile(`/etc/kubernetes/pki/${f}`, 'x', 0o600);
    await assert.rejects(requireSharedCerts(host, config), (err: Error & { oneLine(): string }) => {
      const p = (f: string): string => path.join(dir, 'etc/kubernetes/pki', f);
      assert.equal(
        err.oneLine(),
        `the shared control-plane certificates are not in place: ${[p('front-proxy-ca.key'), p('sa.key'), p('etcd/ca.crt'), p('etcd/ca.key')].join(', ')} missing ` +
          '(copy them from a control-plane node, or join with --certificate-key (`kubestrap init phase upload-certs --upload-certs` on a control-plane node prints one))',
      );
      return true;
    });
  });
});
