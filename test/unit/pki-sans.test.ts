/** SAN computation as kubeadm's GetAPIServerAltNames / GetEtcdAltNames. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ResolvedConfig } from '../../src/config/types.js';
import { apiServerAltNames, canonicalIP, endpointHost, etcdPeerAltNames, etcdServerAltNames, missingAltNames } from '../../src/pki/sans.js';
import { testConfig } from '../support/config-fixture.js';

function withCluster(cfg: ResolvedConfig, cluster: Partial<ResolvedConfig['cluster']>): ResolvedConfig {
  return { ...cfg, cluster: { ...cfg.cluster, ...cluster } };
}

describe('pki SANs', () => {
  it('apiserver: kubernetes names, service IP, node IP, endpoint host and extra SANs; DNS sorted, IPs deduplicated in order', () => {
    const base = testConfig({ apiserverAdvertiseAddress: '10.0.0.5', serviceDnsDomain: 'corp.local' });
    const cfg = withCluster(base, {
      controlPlaneEndpoint: '10.0.0.100:6443',
      apiServer: { ...base.cluster.apiServer, certSANs: ['10.0.0.5', 'b.example.com', '*.apps.example.com', 'a.example.com', 'Not_Valid!', 'fd00::1'] },
    });
    const got = apiServerAltNames(cfg);
    assert.deepEqual(got.dns, [
      '*.apps.example.com',
      'a.example.com',
      'b.example.com',
      'cp1',
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.corp.local',
    ]);
    assert.deepEqual(got.ips, ['10.96.0.1', '10.0.0.5', '10.0.0.100', 'fd00::1']);
    assert.deepEqual(got.dropped, ['Not_Valid!']);
  });

  it('apiserver: a DNS control-plane endpoint becomes a DNS SAN', () => {
    const cfg = testConfig({ controlPlaneEndpoint: 'lb.example.com:6443' });
    assert.ok(apiServerAltNames(cfg).dns.includes('lb.example.com'));
  });

  it('etcd: node name, localhost, node IP and loopbacks, plus server/peer extra SANs', () => {
    const base = testConfig({ apiserverAdvertiseAddress: '10.0.0.5' });
    const cfg = withCluster(base, {
      etcd: { local: { ...base.cluster.etcd.local!, serverCertSANs: ['etcd.example.com'], peerCertSANs: ['10.9.9.9'] } },
    });
    assert.deepEqual(etcdServerAltNames(cfg), { dns: ['cp1', 'etcd.example.com', 'localhost'], ips: ['10.0.0.5', '127.0.0.1', '::1'], dropped: [] });
    assert.deepEqual(etcdPeerAltNames(cfg), { dns: ['cp1', 'localhost'], ips: ['10.0.0.5', '127.0.0.1', '::1', '10.9.9.9'], dropped: [] });
  });

  it('endpoint hosts and IP spellings', () => {
    assert.equal(endpointHost('lb.example.com:6443'), 'lb.example.com');
    assert.equal(endpointHost('lb.example.com'), 'lb.example.com');
    assert.equal(endpointHost('[fd00::10]:6443'), 'fd00::10');
    assert.equal(endpointHost('fd00::10'), 'fd00::10');
    assert.equal(canonicalIP('0:0:0:0:0:0:0:1'), '::1');
    assert.equal(canonicalIP('FD00:0::1'), 'fd00::1');
    assert.deepEqual(missingAltNames({ dns: ['a', 'B'], ips: ['::1', '10.0.0.1'] }, { dns: ['b'], ips: ['0:0:0:0:0:0:0:1'] }), ['DNS:a', 'IP:10.0.0.1']);
  });
});
