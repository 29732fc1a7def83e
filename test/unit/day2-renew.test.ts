/**
 * `certs renew`: identity kept from the existing file, new key, existing CA, kubeconfigs keep their
 * other fields; external CA renews nothing and names the key; and which static pods use which file
 * (the rule the agent restarts by), on the manifests kubeadm's templates render.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { filesUsed, podsUsing } from '../../src/agent/restart.js';
import type { StaticPod } from '../../src/agent/pod-types.js';
import { selectTargets } from '../../src/commands/certs-renew.js';
import { ConfigError } from '../../src/errors.js';
import { Host } from '../../src/host/host.js';
import { parseKubeconfig } from '../../src/kubeconfig/load.js';
import { ALL_COMPONENTS, renderManifests } from '../../src/manifests/index.js';
import { InitData } from '../../src/phases/init/data.js';
import { certsPhase } from '../../src/phases/init/certs.js';
import { kubeconfigPhase } from '../../src/phases/init/kubeconfig.js';
import { memoryPrinter } from '../../src/output.js';
import { Runner } from '../../src/phases/runner.js';
import { identityOf, renewOne, type RenewOptions } from '../../src/certs/renew.js';
import { renewTargets, targetFiles } from '../../src/certs/targets.js';
import { testConfig } from '../support/config-fixture.js';

const roots: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(path.join(tmpdir(), 'kubestrap-renew-'));
  roots.push(d);
  return d;
};
after(() => roots.forEach((d) => rmSync(d, { recursive: true, force: true })));

const DIRS = { pkiDir: '/etc/kubernetes/pki', kubernetesDir: '/etc/kubernetes' };
const opts = (start = new Date()): RenewOptions => ({ ...DIRS, certificateValidityMs: 2 * 365 * 24 * 3600_000, start });

describe('renew targets', () => {
  it("are kubeadm's names, sorted, without CAs and kubelet.conf; etcd ones only with local etcd", () => {
    assert.deepEqual(
      renewTargets(false).map((t) => t.name),
      [
        'admin.conf',
        'apiserver',
        'apiserver-etcd-client',
        'apiserver-kubelet-client',
        'controller-manager.conf',
        'etcd-healthcheck-client',
        'etcd-peer',
        'etcd-server',
        'front-proxy-client',
        'scheduler.conf',
        'super-admin.conf',
      ],
    );
    assert.ok(!renewTargets(true).some((t) => /etcd/.test(t.name)));
  });

  it('an unknown name lists the valid ones', () => {
    const err = (() => {
      try {
        selectTargets('ca', renewTargets(false));
      } catch (e) {
        return e;
      }
    })();
    assert.ok(err instanceof ConfigError);
    assert.match(err.oneLine(), /^unknown certificate "ca" \(valid names: admin\.conf, apiserver, .*super-admin\.conf, all\)$/);
  });
});

describe('renewOne', () => {
  let rootfs: string;
  before(async () => {
    rootfs = tmp();
    const ctx = new InitData({ config: testConfig(), host: new Host(rootfs), out: memoryPrinter(), dryRun: false, uploadCerts: false });
    await new Runner([certsPhase, kubeconfigPhase]).run(ctx);
  });
  const read = (root: string, f: string): string => readFileSync(path.join(root, f), 'utf8');

  it('keeps subject, SANs and usages; new key and serial; signed by the same CA; new validity', async () => {
    const copy = tmp();
    cpSync(rootfs, copy, { recursive: true });
    const host = new Host(copy);
    for (const name of ['apiserver', 'etcd-peer', 'apiserver-kubelet-client']) {
      const target = selectTargets(name, renewTargets(false))[0]!;
      const [crt, key] = targetFiles(target, DIRS).map((f) => path.join(copy, f));
      const before = readFileSync(crt!, 'utf8');
      const keyBefore = readFileSync(key!, 'utf8');
      const start = new Date(Date.now() + 1000);
      const outcome = await renewOne(host, target, opts(start));
      assert.equal(outcome.status, 'renewed');
      const after = readFileSync(crt!, 'utf8');
      assert.deepEqual(identityOf(after, crt!), identityOf(before, crt!));
      assert.notEqual(readFileSync(key!, 'utf8'), keyBefore, 'a new key');
      const a = new X509Certificate(after);
      assert.notEqual(a.serialNumber, new X509Certificate(before).serialNumber);
      const ca = new X509Certificate(read(copy, target.ca === 'etcd-ca' ? 'etc/kubernetes/pki/etcd/ca.crt' : 'etc/kubernetes/pki/ca.crt'));
      assert.ok(a.checkIssued(ca) && a.verify(ca.publicKey));
      assert.ok(a.checkPrivateKey(createPrivateKey(readFileSync(key!))), 'the key matches');
      assert.equal(new Date(a.validTo).getTime(), Math.floor((start.getTime() + 2 * 365 * 24 * 3600_000) / 1000) * 1000);
    }
    assert.equal(identityOf(read(copy, 'etc/kubernetes/pki/apiserver-kubelet-client.crt'), 'x').commonName, 'kube-apiserver-kubelet-client');
  });

  it('renews a kubeconfig client certificate and keeps everything else', async () => {
    const copy = tmp();
    cpSync(rootfs, copy, { recursive: true });
    const file = 'etc/kubernetes/admin.conf';
    const before = await parseKubeconfig(read(copy, file), file);
    const outcome = await renewOne(new Host(copy), selectTargets('admin.conf', renewTargets(false))[0]!, opts());
    assert.equal(outcome.status, 'renewed');
    const after = await parseKubeconfig(read(copy, file), file);
    assert.equal(after.server, before.server);
    assert.equal(after.contextName, before.contextName);
    assert.equal(after.caPem, before.caPem);
    assert.notEqual(after.clientCertPem, before.clientCertPem);
    assert.notEqual(after.clientKeyPem, before.clientKeyPem);
    assert.deepEqual(identityOf(after.clientCertPem!, file), identityOf(before.clientCertPem!, file));
  });

  it('external CA: renews nothing and names the missing CA key; a missing certificate is MISSING', async () => {
    const copy = tmp();
    cpSync(rootfs, copy, { recursive: true });
    unlinkSync(path.join(copy, 'etc/kubernetes/pki/front-proxy-ca.key'));
    unlinkSync(path.join(copy, 'etc/kubernetes/scheduler.conf'));
    const crt = path.join(copy, 'etc/kubernetes/pki/front-proxy-client.crt');
    const before = readFileSync(crt, 'utf8');
    const ext = await renewOne(new Host(copy), selectTargets('front-proxy-client', renewTargets(false))[0]!, opts());
    assert.equal(ext.status, 'external');
    assert.equal(ext.status === 'external' && ext.missingKey, '/etc/kubernetes/pki/front-proxy-ca.key');
    assert.equal(readFileSync(crt, 'utf8'), before);
    assert.equal((await renewOne(new Host(copy), selectTargets('scheduler.conf', renewTargets(false))[0]!, opts())).status, 'missing');
  });

  it("keeps each key's type unless a configuration says otherwise", async () => {
    const ec = tmp();
    const base = testConfig();
    const config = { ...base, cluster: { ...base.cluster, encryptionAlgorithm: 'ECDSA-P256' as const } };
    await new Runner([certsPhase]).run(new InitData({ config, host: new Host(ec), out: memoryPrinter(), dryRun: false, uploadCerts: false }));
    const target = selectTargets('apiserver', renewTargets(false))[0]!;
    const keyOf = (): string => createPrivateKey(readFileSync(path.join(ec, 'etc/kubernetes/pki/apiserver.key'))).asymmetricKeyType ?? '';
    await renewOne(new Host(ec), target, opts());
    assert.equal(keyOf(), 'ec');
    await renewOne(new Host(ec), target, { ...opts(), encryptionAlgorithm: 'RSA-2048' });
    assert.equal(keyOf(), 'rsa');
  });

  it('dry run writes nothing', async () => {
    const host = new Host(rootfs, { dryRun: true });
    const before = read(rootfs, 'etc/kubernetes/pki/apiserver.crt');
    assert.equal((await renewOne(host, selectTargets('apiserver', renewTargets(false))[0]!, opts())).status, 'renewed');
    assert.equal(read(rootfs, 'etc/kubernetes/pki/apiserver.crt'), before);
    assert.deepEqual(
      host.planned.map((p) => p.path),
      ['/etc/kubernetes/pki/apiserver.key', '/etc/kubernetes/pki/apiserver.crt'],
    );
  });
});

describe('which static pods use a renewed file', () => {
  let pods: StaticPod[];
  before(async () => {
    const rendered = await renderManifests(testConfig(), new Host(tmp()), ALL_COMPONENTS);
    pods = [...rendered.values()].map((m) => ({
      uid: m.component,
      name: `${m.component}-n1`,
      namespace: 'kube-system',
      source: 'file',
      origin: m.path,
      hash: m.component,
      pod: m.pod,
    }));
  });
  const all = (): string[] => renewTargets(false).flatMap((t) => targetFiles(t, DIRS));
  const names = (files: string[]): string[] => podsUsing(pods, files).map((p) => p.uid);

  it('all: exactly the four components, etcd first and kube-apiserver second', () => {
    assert.deepEqual(names(all()), ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']);
  });

  it('front-proxy-client: only kube-apiserver (the controller-manager mounts the directory but names no such file)', () => {
    assert.deepEqual(names(targetFiles(selectTargets('front-proxy-client', renewTargets(false))[0]!, DIRS)), ['kube-apiserver']);
  });

  it('admin.conf, super-admin.conf and etcd-healthcheck-client: no pod', () => {
    for (const n of ['admin.conf', 'super-admin.conf', 'etcd-healthcheck-client'])
      assert.deepEqual(names(targetFiles(selectTargets(n, renewTargets(false))[0]!, DIRS)), [], n);
  });

  it('scheduler.conf: only the scheduler; a pod mounting a directory it names nothing in counts as using it', () => {
    assert.deepEqual(names(['/etc/kubernetes/scheduler.conf']), ['kube-scheduler']);
    const opaque: V1Pod = {
      spec: {
        containers: [{ name: 'c', image: 'x', command: ['reader'], volumeMounts: [{ name: 'v', mountPath: '/certs' }] }],
        volumes: [{ name: 'v', hostPath: { path: '/etc/kubernetes/pki' } }],
      },
    };
    assert.deepEqual(filesUsed(opaque, ['/etc/kubernetes/pki/front-proxy-client.crt', '/etc/kubernetes/admin.conf']), [
      '/etc/kubernetes/pki/front-proxy-client.crt',
    ]);
    const named: V1Pod = { spec: { containers: [{ ...opaque.spec!.containers[0]!, args: ['--cert=/certs/x.crt'] }], volumes: opaque.spec!.volumes } };
    assert.deepEqual(filesUsed(named, ['/etc/kubernetes/pki/x.crt', '/etc/kubernetes/pki/y.crt']), ['/etc/kubernetes/pki/x.crt']);
  });
});
