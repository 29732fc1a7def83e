import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseHeaderFlags, parseKubeletConfig, parseTaints, resolveAgentConfig, type AgentFlags } from '../../src/agent/config.js';
import { ConfigError } from '../../src/errors.js';

const files: Record<string, string> = {
  '/cfg/ok.yaml': [
    'apiVersion: kubelet.config.k8s.io/v1beta1',
    'kind: KubeletConfiguration',
    'staticPodPath: /etc/kubernetes/manifests',
    'staticPodURL: http://127.0.0.1:8080/pods',
    'staticPodURLHeader: {Authorization: ["Bearer x"], X-A: [a, b]}',
    'fileCheckFrequency: 5s',
    'httpCheckFrequency: 1m30s',
    'readOnlyPort: 10266',
  ].join('\n'),
  '/cfg/typo.yaml': 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nstaticPodPth: /x\n',
  '/cfg/bad-duration.yaml': 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nfileCheckFrequency: 20\n',
};
const read = async (p: string): Promise<string> => {
  const f = files[p];
  if (f === undefined) throw new Error('ENOENT: no such file');
  return f;
};
const resolve = (flags: AgentFlags) => resolveAgentConfig({ nodeName: 'node1', runtime: 'process', ...flags }, read);

async function configError(p: Promise<unknown>): Promise<ConfigError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail('expected ConfigError');
}

describe('agent config', () => {
  it("takes the kubelet's TLS bootstrap flags: --bootstrap-kubeconfig needs --kubeconfig, --cert-dir defaults to the kubelet's", async () => {
    const c = await resolve({ kubeconfig: '/etc/kubernetes/kubelet.conf', bootstrapKubeconfig: '/etc/kubernetes/bootstrap-kubelet.conf' });
    assert.equal(c.bootstrapKubeconfig, '/etc/kubernetes/bootstrap-kubelet.conf');
    assert.equal(c.certDir, '/var/lib/kubelet/pki');
    assert.equal((await resolve({ certDir: '/srv/pki/' })).certDir, '/srv/pki');
    const e = await configError(resolve({ bootstrapKubeconfig: '/b.conf' }));
    assert.equal(
      e.oneLine(),
      '--bootstrap-kubeconfig: needs --kubeconfig (give --kubeconfig, the file the bootstrap writes (e.g. /etc/kubernetes/kubelet.conf))',
    );
    assert.match((await configError(resolve({ certDir: 'pki' }))).oneLine(), /^--cert-dir: "pki" is not an absolute path/);
  });

  it('parses --register-with-taints as the kubelet does', async () => {
    assert.deepEqual(parseTaints('dedicated=edge:NoSchedule,gpu:NoExecute'), [
      { key: 'dedicated', value: 'edge', effect: 'NoSchedule' },
      { key: 'gpu', effect: 'NoExecute' },
    ]);
    assert.deepEqual((await resolve({ registerWithTaints: 'a=b:PreferNoSchedule' })).registerTaints, [{ key: 'a', value: 'b', effect: 'PreferNoSchedule' }]);
    assert.match((await configError(resolve({ registerWithTaints: 'a=b:Never' }))).oneLine(), /^--register-with-taints: "a=b:Never" is not a taint/);
  });

  it("defaults like kubeadm's kubelet (no read-only port, kubelet API on 10250, 20 s checks, manifest dir)", async () => {
    const c = await resolve({});
    assert.equal(c.readOnlyPort, 0);
    assert.equal(c.kubeletPort, 10250);
    assert.equal(c.clientCAFile, '/etc/kubernetes/pki/ca.crt');
    assert.equal(c.fileCheckFrequencyMs, 20_000);
    assert.equal(c.httpCheckFrequencyMs, 20_000);
    assert.equal(c.staticPodPath, '/etc/kubernetes/manifests');
    assert.equal(c.staticPodURL, undefined);
    assert.equal(c.stateDir, '/var/lib/kubestrap/agent');
    assert.equal(c.stopPodsOnExit, false);
  });

  it('reads the KubeletConfiguration subset; flags override the file', async () => {
    const c = await resolve({ config: '/cfg/ok.yaml' });
    assert.equal(c.staticPodURL, 'http://127.0.0.1:8080/pods');
    assert.deepEqual(c.staticPodURLHeader, { Authorization: ['Bearer x'], 'X-A': ['a', 'b'] });
    assert.equal(c.fileCheckFrequencyMs, 5000);
    assert.equal(c.httpCheckFrequencyMs, 90_000);
    assert.equal(c.readOnlyPort, 10266);
    const o = await resolve({ config: '/cfg/ok.yaml', readOnlyPort: '0', podManifestPath: '/srv/pods/', manifestUrlHeader: ['a:hello,b:again', 'a:twice'] });
    assert.equal(o.readOnlyPort, 0);
    assert.equal(o.staticPodPath, '/srv/pods');
    assert.deepEqual(o.staticPodURLHeader, { a: ['hello', 'twice'], b: ['again'] });
  });

  it('names the field and file of bad input', async () => {
    const typo = await configError(resolve({ config: '/cfg/typo.yaml' }));
    assert.equal(typo.file, '/cfg/typo.yaml');
    assert.equal(typo.field, 'staticPodPth');
    assert.match(typo.oneLine(), /unknown field/);
    const dur = await configError(resolve({ config: '/cfg/bad-duration.yaml' }));
    assert.equal(dur.field, 'fileCheckFrequency');
    assert.equal((await configError(resolve({ config: '/cfg/missing.yaml' }))).file, '/cfg/missing.yaml');
    assert.equal((await configError(resolve({ runtime: 'docker' }))).field, '--runtime');
    assert.equal((await configError(resolve({ readOnlyPort: '99999' }))).field, '--read-only-port');
    assert.equal((await configError(resolve({ podManifestPath: 'relative' }))).field, '--pod-manifest-path');
    assert.throws(() => parseHeaderFlags(['novalue']), ConfigError);
    await assert.rejects(
      parseKubeletConfig('apiVersion: v1\nkind: KubeletConfiguration\n', 'f'),
      (e: unknown) => e instanceof ConfigError && e.oneLine() === 'f: apiVersion: is "v1" (use kubelet.config.k8s.io/v1beta1)',
    );
  });
});
