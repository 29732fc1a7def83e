import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { parseJoinConfig, resolveJoinConfig, type JoinFlags } from '../../src/config/join.js';
import { joinDefaultsYaml } from '../../src/config/print.js';
import { ConfigError } from '../../src/errors.js';

const TOKEN = 'abcdef.0123456789abcdef';
const PIN = `sha256:${'ab'.repeat(32)}`;
const dir = mkdtempSync(path.join(os.tmpdir(), 'join-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

const resolve = (flags: JoinFlags, endpoints: string[] = ['10.0.0.1:6443']) => resolveJoinConfig({ nodeName: 'w1', ...flags }, endpoints, () => undefined);

function rejects(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.match(err.oneLine(), pattern);
    assert.ok(!err.oneLine().includes('\n'), 'one line');
    return true;
  });
}

describe('JoinConfiguration: flags and defaults (kubeadm newJoinData + SetDefaults_JoinConfiguration)', () => {
  it('--token is the discovery and the TLS bootstrap token; kubeadm defaults for the rest', () => {
    const r = resolve({ token: TOKEN, discoveryTokenCaCertHash: [PIN] });
    assert.deepEqual(r.join.discovery.bootstrapToken, {
      token: TOKEN,
      apiServerEndpoint: '10.0.0.1:6443',
      caCertHashes: [PIN],
      unsafeSkipCAVerification: false,
    });
    assert.equal(r.join.discovery.tlsBootstrapToken, TOKEN);
    assert.equal(r.join.caCertPath, '/etc/kubernetes/pki/ca.crt');
    assert.equal(r.criSocket, 'unix:///var/run/containerd/containerd.sock');
    assert.equal(r.timeoutsMs.discovery, 300_000);
    assert.equal(r.timeoutsMs.tlsBootstrap, 300_000);
    assert.equal(r.nodeName, 'w1');
  });

  it('--discovery-token and --tls-bootstrap-token win over --token', () => {
    const other = 'zzzzzz.0123456789abcdef';
    const r = resolve({ token: TOKEN, discoveryToken: other, tlsBootstrapToken: TOKEN, discoveryTokenUnsafeSkipCaVerification: true });
    assert.equal(r.join.discovery.bootstrapToken?.token, other);
    assert.equal(r.join.discovery.tlsBootstrapToken, TOKEN);
  });

  it('a bare CRI path gets unix:// (with a warning, as kubeadm)', () => {
    const r = resolve({ token: TOKEN, discoveryTokenUnsafeSkipCaVerification: true, criSocket: '/run/c.sock' });
    assert.equal(r.criSocket, 'unix:///run/c.sock');
  });

  it('file discovery: a file:// URL becomes a path; a missing file is an error', () => {
    const conf = file('disc.conf', 'apiVersion: v1\nkind: Config\n');
    const r = resolve({ discoveryFile: `file://${conf}`, tlsBootstrapToken: TOKEN }, []);
    assert.deepEqual(r.join.discovery.file, { kubeConfigPath: conf });
    rejects(() => resolve({ discoveryFile: '/nope/disc.conf' }, []), /--discovery-file: "\/nope\/disc.conf" is not a valid HTTPS URL or a file on disk/);
    rejects(() => resolve({ discoveryFile: 'http://x/disc.conf' }, []), /the scheme must be https/);
  });
});

describe('JoinConfiguration: validation (kubeadm ValidateJoinConfiguration)', () => {
  it('token discovery without pins needs the explicit unsafe skip', () => {
    rejects(() => resolve({ token: TOKEN }), /--discovery-token-ca-cert-hash: using token-based discovery without caCertHashes can be unsafe/);
  });
  it('a malformed token, pin or endpoint is named by its flag', () => {
    rejects(() => resolve({ token: 'abc', discoveryTokenUnsafeSkipCaVerification: true }), /--discovery-token: the bootstrap token "abc" was not of the form/);
    rejects(
      () => resolve({ token: TOKEN, discoveryTokenCaCertHash: ['sha256:xyz'] }),
      /--discovery-token-ca-cert-hash\[0\]|--discovery-token-ca-cert-hash: "sha256:xyz" is not a CA certificate hash/,
    );
    rejects(() => resolve({ token: TOKEN, discoveryTokenUnsafeSkipCaVerification: true }, ['10.0.0.1']), /<endpoint>: "10.0.0.1" is not <host>:<port>/);
  });
  it('no discovery at all, or both kinds', () => {
    rejects(() => resolve({}, []), /bootstrapToken or file must be set/);
    const conf = file('both.conf', 'x: 1\n');
    rejects(() => resolve({ token: TOKEN, discoveryTokenUnsafeSkipCaVerification: true, discoveryFile: conf }), /bootstrapToken and file cannot both be set/);
  });
  it('a node name that is not a DNS subdomain', () => {
    rejects(() => resolve({ token: TOKEN, discoveryTokenUnsafeSkipCaVerification: true, nodeName: 'W_1' }), /--node-name: "W_1" is not a valid node name/);
  });
});

describe('join --config (strict, like init)', () => {
  const good = `apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
nodeRegistration:
  name: w2
  criSocket: unix:///run/w2.sock
  kubeletExtraArgs:
  - name: node-ip
    value: 10.0.0.2
discovery:
  bootstrapToken:
    apiServerEndpoint: 10.0.0.1:6443
    token: ${TOKEN}
    caCertHashes: [${PIN}]
timeouts:
  discovery: 3s
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
`;
  it("reads a JoinConfiguration and the node's KubeletConfiguration; tlsBootstrapToken defaults to the discovery token", () => {
    const r = resolveJoinConfig({ config: file('good.yaml', good) }, [], () => undefined);
    assert.equal(r.nodeName, 'w2');
    assert.equal(r.join.discovery.tlsBootstrapToken, TOKEN);
    assert.equal(r.timeoutsMs.discovery, 3000);
    assert.deepEqual(r.join.nodeRegistration.kubeletExtraArgs, [{ name: 'node-ip', value: '10.0.0.2' }]);
    assert.equal(r.nodeKubelet?.doc.cgroupDriver, 'cgroupfs');
  });
  it('an unknown field is one line naming the file and the dotted field', () => {
    const f = file('unknown.yaml', good.replace('  criSocket:', '  criSockett: x\n  criSocket:'));
    rejects(
      () => resolveJoinConfig({ config: f }, [], () => undefined),
      new RegExp(`^${f}: nodeRegistration.criSockett: unknown field in JoinConfiguration \\(did you mean "criSocket"\\?\\)$`),
    );
  });
  it('a wrong type, an old apiVersion, a second JoinConfiguration, no JoinConfiguration', () => {
    rejects(() => parseJoinConfig(good.replace('discovery: 3s', 'discovery: 3'), 'f.yaml'), /timeouts.discovery: must be a string, not the number 3/);
    rejects(() => parseJoinConfig(good.replace('v1beta4', 'v1beta3'), 'f.yaml'), /kubeadm.k8s.io\/v1beta3 is not supported/);
    rejects(() => parseJoinConfig(`${good}---\n${good.split('---')[0]}`, 'f.yaml'), /JoinConfiguration appears twice/);
    rejects(() => parseJoinConfig('apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n', 'f.yaml'), /has no JoinConfiguration document/);
  });
  it('an InitConfiguration beside it is skipped with a warning, as kubeadm', () => {
    const parsed = parseJoinConfig(`${good}---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n`, 'f.yaml');
    assert.match(parsed.warnings.join('\n'), /ignoring the InitConfiguration document/);
  });
  it('discovery flags cannot be mixed with --config (kubeadm ValidateMixedArguments)', () => {
    rejects(() => resolveJoinConfig({ config: file('mix.yaml', good), token: TOKEN }, [], () => undefined), /can not mix '--config' with arguments \[token\]/);
  });
  it('controlPlane: its endpoint and certificate key are validated, one line each', () => {
    const cp = (body: string): string => file('cp.yaml', good.replace('timeouts:', `controlPlane:\n${body}timeouts:`));
    rejects(
      () => resolveJoinConfig({ config: cp('  certificateKey: x\n  localAPIEndpoint:\n    advertiseAddress: 10.0.0.2\n') }, [], () => undefined),
      /cp.yaml: controlPlane.certificateKey: is not 64 hexadecimal characters/,
    );
    rejects(
      () => resolveJoinConfig({ config: cp('  localAPIEndpoint:\n    advertiseAddress: 10.0.0.300\n') }, [], () => undefined),
      /controlPlane.localAPIEndpoint.advertiseAddress: "10.0.0.300" is not a valid IP address/,
    );
    const ok = resolveJoinConfig(
      { config: cp(`  certificateKey: ${'ab'.repeat(32)}\n  localAPIEndpoint:\n    advertiseAddress: 10.0.0.2\n`) },
      [],
      () => undefined,
    );
    assert.deepEqual(ok.join.controlPlane, { localAPIEndpoint: { advertiseAddress: '10.0.0.2', bindPort: 6443 }, certificateKey: 'ab'.repeat(32) });
  });
  it('--control-plane flags: kubeadm defaults, one-line errors named by flag', () => {
    const flags = { token: TOKEN, discoveryTokenCaCertHash: [`sha256:${'a'.repeat(64)}`] };
    const got = resolveJoinConfig(
      { ...flags, controlPlane: true, apiserverAdvertiseAddress: '10.0.0.3', apiserverBindPort: '6444' },
      ['10.0.0.1:6443'],
      () => undefined,
    );
    assert.deepEqual(got.join.controlPlane, { localAPIEndpoint: { advertiseAddress: '10.0.0.3', bindPort: 6444 }, certificateKey: '' });
    rejects(
      () =>
        resolveJoinConfig({ ...flags, controlPlane: true, apiserverAdvertiseAddress: '10.0.0.3', certificateKey: 'nope' }, ['10.0.0.1:6443'], () => undefined),
      /--certificate-key: is not 64 hexadecimal characters/,
    );
    rejects(
      () =>
        resolveJoinConfig({ ...flags, controlPlane: true, apiserverAdvertiseAddress: '10.0.0.3', apiserverBindPort: 'x' }, ['10.0.0.1:6443'], () => undefined),
      /--apiserver-bind-port: "x" is not a valid port/,
    );
    rejects(
      () => resolveJoinConfig({ ...flags, certificateKey: 'ab'.repeat(32) }, ['10.0.0.1:6443'], () => undefined),
      /--certificate-key is only used with --control-plane/,
    );
    assert.equal(resolveJoinConfig(flags, ['10.0.0.1:6443'], () => undefined).join.controlPlane, undefined);
  });
});

describe('config print join-defaults', () => {
  it("is kubeadm's document and what join --config accepts", () => {
    const text = joinDefaultsYaml();
    const doc = parse(text) as Record<string, unknown>;
    assert.deepEqual(doc.discovery, {
      bootstrapToken: { apiServerEndpoint: 'kube-apiserver:6443', token: TOKEN, unsafeSkipCAVerification: true },
      tlsBootstrapToken: TOKEN,
    });
    assert.equal((doc.nodeRegistration as Record<string, unknown>).taints, null);
    const r = resolveJoinConfig({ config: file('defaults.yaml', text) }, [], () => undefined);
    assert.equal(r.nodeName, 'node');
  });
});
