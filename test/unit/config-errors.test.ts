/**
 * Every config mistake is ONE line naming the file and the dotted field, with what to do. The
 * messages are checked in full: they are the user interface.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { InitFlags } from '../../src/config/flags.js';
import { resolveInitConfig } from '../../src/config/resolve.js';
import { ConfigError } from '../../src/errors.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kubestrap-config-errors-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const INIT = `apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
nodeRegistration:
  name: cp1
localAPIEndpoint:
  advertiseAddress: 10.0.0.1
`;
const CLUSTER = `apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
`;

async function errorOf(flags: InitFlags): Promise<string> {
  try {
    await resolveInitConfig(flags, { warn: () => {} });
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    const line = err.oneLine();
    assert.ok(!line.includes('\n'), `not one line: ${line}`);
    return line;
  }
  assert.fail('expected a ConfigError');
}

/** Error of a config file with `text`, with `<file>` in `expected` standing for its path. */
async function fileCase(name: string, text: string, expected: string): Promise<void> {
  const f = path.join(dir, `${name}.yaml`);
  writeFileSync(f, text);
  assert.equal(await errorOf({ config: f }), expected.replaceAll('<file>', f));
}

describe('config file errors', () => {
  test('invalid YAML', () =>
    fileCase('yaml', `${INIT}  bindPort: 6443\n bad: [\n`, '<file>: cannot parse YAML: All mapping items must start at the same column at line 8, column 1'));

  test('unreadable file', async () => {
    const f = path.join(dir, 'missing.yaml');
    assert.equal(await errorOf({ config: f }), `${f}: cannot read config file: no such file or directory`);
  });

  test('unknown nested field', () =>
    fileCase(
      'unknown',
      `${INIT}---\n${CLUSTER}networking:\n  podSubnett: 10.244.0.0/16\n`,
      '<file>: networking.podSubnett: unknown field in ClusterConfiguration (did you mean "podSubnet"?)',
    ));

  test('unknown field inside a list item', () =>
    fileCase(
      'unknown-list',
      `${CLUSTER}apiServer:\n  extraArgs:\n  - name: v\n    vaule: "2"\n---\n${INIT}`,
      '<file>: apiServer.extraArgs[0].vaule: unknown field in ClusterConfiguration (did you mean "value"?)',
    ));

  test('wrong type', () => fileCase('type', `${INIT}  bindPort: "6443"\n`, '<file>: localAPIEndpoint.bindPort: must be an integer, not the string "6443"'));

  test('bad CIDR', () =>
    fileCase(
      'cidr',
      `${INIT}---\n${CLUSTER}networking:\n  podSubnet: 10.244.0.0/33\n`,
      '<file>: networking.podSubnet: "10.244.0.0/33" is not a valid CIDR (use a CIDR like 10.96.0.0/12 or fd00::/108)',
    ));

  test('service subnet larger than /12', () =>
    fileCase(
      'service-size',
      `${INIT}---\n${CLUSTER}networking:\n  serviceSubnet: 10.0.0.0/8\n`,
      '<file>: networking.serviceSubnet: "10.0.0.0/8" is too large (use at most a /12 for IPv4 or a /108 for IPv6)',
    ));

  test('bad IP', () =>
    fileCase(
      'ip',
      INIT.replace('10.0.0.1', '10.0.0.300'),
      '<file>: localAPIEndpoint.advertiseAddress: "10.0.0.300" is not a valid IP address (use an IPv4 or IPv6 address of this host)',
    ));

  test('unspecified IP', () =>
    fileCase(
      'ip-zero',
      INIT.replace('10.0.0.1', '0.0.0.0'),
      '<file>: localAPIEndpoint.advertiseAddress: "0.0.0.0" is not a unicast address (use an address of this host other than 0.0.0.0 or ::)',
    ));

  test('bad port', () =>
    fileCase('port', `${INIT}  bindPort: 70000\n`, '<file>: localAPIEndpoint.bindPort: 70000 is not a valid port (use a port between 1 and 65535)'));

  test('bad version', () =>
    fileCase(
      'version',
      `${INIT}---\n${CLUSTER}kubernetesVersion: v1.37.x\n`,
      '<file>: kubernetesVersion: "v1.37.x" is not a valid Kubernetes version (use a version like v1.37.2, 1.36 or stable-1.36)',
    ));

  test('unsupported minor label', () =>
    fileCase(
      'version-label',
      `${INIT}---\n${CLUSTER}kubernetesVersion: v1.34\n`,
      '<file>: kubernetesVersion: Kubernetes v1.34 is not supported (kubestrap supports v1.35, v1.36, v1.37; use e.g. v1.37.2)',
    ));

  test('out-of-range version', () =>
    fileCase(
      'version-range',
      `${INIT}---\n${CLUSTER}kubernetesVersion: v1.30.2\n`,
      '<file>: kubernetesVersion: Kubernetes v1.30.2 is not supported (kubestrap supports v1.35, v1.36, v1.37; use e.g. v1.37.2)',
    ));

  test('unknown encryptionAlgorithm', () =>
    fileCase(
      'algo',
      `${INIT}---\n${CLUSTER}encryptionAlgorithm: RSA-1024\n`,
      '<file>: encryptionAlgorithm: "RSA-1024" is not supported (use one of RSA-2048, RSA-3072, RSA-4096, ECDSA-P256, ECDSA-P384)',
    ));

  test('bad token', () =>
    fileCase(
      'token',
      `${INIT}bootstrapTokens:\n- token: ABCDEF.0123456789abcdef\n`,
      '<file>: bootstrapTokens[0].token: "ABCDEF.0123456789abcdef" is not a valid bootstrap token (a token looks like abcdef.0123456789abcdef ([a-z0-9]{6}.[a-z0-9]{16}))',
    ));

  test('bad node name', () =>
    fileCase(
      'node',
      INIT.replace('name: cp1', 'name: CP_1'),
      '<file>: nodeRegistration.name: "CP_1" is not a valid node name (use a lowercase RFC 1123 subdomain (a-z, 0-9, "-" and "."))',
    ));

  test('v1beta3 document', () =>
    fileCase(
      'v1beta3',
      `apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\n`,
      '<file>: apiVersion: kubeadm.k8s.io/v1beta3 is not supported (use kubeadm.k8s.io/v1beta4; convert the file with "kubeadm config migrate --old-config <file> --new-config new.yaml")',
    ));

  test('duplicate documents', () =>
    fileCase(
      'dup',
      `${CLUSTER}---\n${INIT}---\n${CLUSTER}`,
      '<file>: kind: ClusterConfiguration appears twice (documents 1 and 3) (merge them into one document)',
    ));

  test('certificate key', () =>
    fileCase(
      'certkey',
      `${INIT}certificateKey: abc\n`,
      '<file>: certificateKey: is not 64 hexadecimal characters (generate one with "kubeadm certs certificate-key" or openssl rand -hex 32)',
    ));

  test('extraVolumes need a hostPath', () =>
    fileCase(
      'volume',
      `${INIT}---\n${CLUSTER}scheduler:\n  extraVolumes:\n  - name: x\n    mountPath: /x\n`,
      '<file>: scheduler.extraVolumes[0].hostPath: is required',
    ));

  test('local and external etcd are exclusive', () =>
    fileCase(
      'etcd',
      `${INIT}---\n${CLUSTER}etcd:\n  local:\n    dataDir: /var/lib/etcd\n  external:\n    endpoints: [http://10.0.0.2:2379]\n`,
      '<file>: etcd: local and external are mutually exclusive (set only one of etcd.local or etcd.external)',
    ));

  test('bad certSAN', () =>
    fileCase(
      'san',
      `${INIT}---\n${CLUSTER}apiServer:\n  certSANs: [ok.example.com, "bad name"]\n`,
      '<file>: apiServer.certSANs[1]: "bad name" is not a valid IP address or DNS name',
    ));

  test('taint effect and image pull policy', async () => {
    await fileCase(
      'taint',
      INIT.replace('name: cp1', 'name: cp1\n  taints:\n  - key: a\n    effect: Never'),
      '<file>: nodeRegistration.taints[0].effect: "Never" is not a taint effect (use one of NoSchedule, PreferNoSchedule, NoExecute)',
    );
    await fileCase(
      'pull',
      INIT.replace('name: cp1', 'name: cp1\n  imagePullPolicy: Sometimes'),
      '<file>: nodeRegistration.imagePullPolicy: "Sometimes" is not an image pull policy (use one of Always, IfNotPresent, Never)',
    );
  });
});

describe('flag errors name the flag', () => {
  const base: InitFlags = { nodeName: 'cp1', apiserverAdvertiseAddress: '10.0.0.1' };
  const cases: [Partial<InitFlags>, string][] = [
    [{ podNetworkCidr: '10.244.0.0' }, '--pod-network-cidr: "10.244.0.0" is not a valid CIDR (use a CIDR like 10.96.0.0/12 or fd00::/108)'],
    [{ apiserverBindPort: 'https' }, '--apiserver-bind-port: "https" is not a valid port (use a port between 1 and 65535)'],
    [{ apiserverBindPort: '0' }, '--apiserver-bind-port: 0 is not a valid port (use a port between 1 and 65535)'],
    [{ nodeName: 'Node_1' }, '--node-name: "Node_1" is not a valid node name (use a lowercase RFC 1123 subdomain (a-z, 0-9, "-" and "."))'],
    [{ kubernetesVersion: 'v1.33.0' }, '--kubernetes-version: Kubernetes v1.33.0 is not supported (kubestrap supports v1.35, v1.36, v1.37; use e.g. v1.37.2)'],
    [
      { kubernetesVersion: 'stable-1.38' },
      '--kubernetes-version: Kubernetes stable-1.38 is not supported (kubestrap supports v1.35, v1.36, v1.37; use e.g. v1.37.2)',
    ],
    [{ token: 'short.token' }, '--token: "short.token" is not a valid bootstrap token (a token looks like abcdef.0123456789abcdef ([a-z0-9]{6}.[a-z0-9]{16}))'],
    [{ tokenTtl: '1d' }, '--token-ttl: "1d" is not a valid duration (use a Go duration like 24h0m0s, 4m or 500ms)'],
    [{ apiserverCertExtraSans: 'a.example,-bad-' }, '--apiserver-cert-extra-sans: "-bad-" is not a valid IP address or DNS name'],
    [{ controlPlaneEndpoint: 'lb:99999' }, '--control-plane-endpoint: 99999 is not a valid port (use a port between 1 and 65535)'],
    [
      { ignorePreflightErrors: 'all,Swap' },
      '--ignore-preflight-errors: "all" cannot be combined with individual checks (use either "all" or a list of checks)',
    ],
  ];
  for (const [flags, expected] of cases) {
    test(Object.keys(flags)[0]!, async () => assert.equal(await errorOf({ ...base, ...flags }), expected));
  }
});
