import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { resolveJoinConfig, type ResolvedJoin } from '../../src/config/join.js';
import { ConfigError } from '../../src/errors.js';
import { Host } from '../../src/host/host.js';
import { parseKubeconfig } from '../../src/kubeconfig/load.js';
import { agentJoinArgs } from '../../src/phases/agent-node.js';
import {
  bootstrapKubeconfig,
  kubeletConfigYaml,
  kubeletDropIn,
  kubeletFlags,
  kubeletFlagsEnv,
  kubeletService,
  kubeletUnit,
  nodeKubeletFile,
  readNodeKubelet,
} from '../../src/phases/kubelet-files.js';
import { KUBELET_SERVICE, startNodeService } from '../../src/phases/node-service.js';
import { resetNotes } from '../../src/phases/worker-cleanup.js';

const TOKEN = 'abcdef.0123456789abcdef';
const KUBELET = '/usr/bin/kubelet';
const dir = mkdtempSync(path.join(os.tmpdir(), 'join-files-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function cfg(extra: Partial<ResolvedJoin> = {}, args: { name: string; value: string }[] = []): ResolvedJoin {
  const r = resolveJoinConfig(
    { nodeName: 'w1', token: TOKEN, discoveryTokenUnsafeSkipCaVerification: true, criSocket: 'unix:///run/w1.sock' },
    ['10.0.0.1:6443'],
    () => undefined,
  );
  r.join.nodeRegistration.kubeletExtraArgs = args;
  return { ...r, ...extra };
}

const cluster = {
  apiVersion: 'kubelet.config.k8s.io/v1beta1',
  kind: 'KubeletConfiguration',
  cgroupDriver: 'systemd',
  authentication: { x509: { clientCAFile: '/etc/kubernetes/pki/ca.crt' }, webhook: { enabled: true } },
  staticPodPath: '/etc/kubernetes/manifests',
  clusterDNS: ['10.96.0.10'],
};

describe('kubeadm-flags.env (kubeadm phases/kubelet/flags.go)', () => {
  it('hostname-override only when the node name is not the host name; extra args replace and go last', () => {
    const root = new Host('/');
    assert.deepEqual(kubeletFlags(cfg(), root, 'w1'), []);
    assert.deepEqual(kubeletFlags(cfg(), root, 'host'), ['--hostname-override=w1']);
    const extra = [
      { name: 'node-ip', value: '10.0.0.2' },
      { name: 'hostname-override', value: 'w9' },
    ];
    assert.deepEqual(kubeletFlags(cfg({}, extra), root, 'host'), ['--node-ip=10.0.0.2', '--hostname-override=w9']);
    assert.equal(kubeletFlagsEnv(['--a=b', '--c=d']), 'KUBELET_KUBEADM_ARGS="--a=b --c=d"\n');
  });
  it('under --rootfs the root and cert dirs are node flags, under the rootfs', () => {
    assert.deepEqual(kubeletFlags(cfg(), new Host('/srv/w1'), 'w1'), ['--cert-dir=/srv/w1/var/lib/kubelet/pki', '--root-dir=/srv/w1/var/lib/kubelet']);
  });
});

describe('config.yaml: the kubelet-config ConfigMap, the node document over it', () => {
  it("the node's fields win, maps merge, the CRI endpoint comes from the node (instance config)", () => {
    const c = cfg({
      nodeKubelet: {
        file: 'join.yaml',
        doc: {
          apiVersion: 'kubelet.config.k8s.io/v1beta1',
          kind: 'KubeletConfiguration',
          cgroupDriver: 'cgroupfs',
          authentication: { anonymous: { enabled: false } },
        },
      },
    });
    const doc = parse(kubeletConfigYaml(cluster, c, new Host('/'))) as Record<string, unknown>;
    assert.equal(doc.cgroupDriver, 'cgroupfs');
    assert.deepEqual(doc.authentication, { x509: { clientCAFile: '/etc/kubernetes/pki/ca.crt' }, webhook: { enabled: true }, anonymous: { enabled: false } });
    assert.equal(doc.containerRuntimeEndpoint, 'unix:///run/w1.sock');
    assert.deepEqual(doc.clusterDNS, ['10.96.0.10']);
    assert.equal(doc.podLogsDir, undefined, 'no rootfs: kubelet defaults');
  });
  it('under --rootfs every host path is mapped, and the kubelet defaults that write outside its root dir are moved', () => {
    const doc = parse(kubeletConfigYaml(cluster, cfg(), new Host('/srv/w1'))) as Record<string, unknown>;
    assert.equal(doc.staticPodPath, '/srv/w1/etc/kubernetes/manifests');
    assert.equal((doc.authentication as { x509: { clientCAFile: string } }).x509.clientCAFile, '/srv/w1/etc/kubernetes/pki/ca.crt');
    assert.equal(doc.podLogsDir, '/srv/w1/var/log/pods');
    assert.equal(doc.volumePluginDir, '/srv/w1/usr/libexec/kubernetes/kubelet-plugins/volume/exec');
  });
  it("the node's document join keeps is what upgrade node reads back, under the rootfs", async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'ks-node-kubelet-'));
    try {
      const host = new Host(root);
      assert.equal(await readNodeKubelet(host), undefined, 'join had no KubeletConfiguration');
      const doc = { apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration', failCgroupV1: false, cgroupRoot: '/w1' };
      const [file, text, mode] = nodeKubeletFile({ file: 'join.yaml', doc });
      assert.equal(mode, 0o644);
      await host.writeFile(file, text, mode);
      assert.deepEqual(await readNodeKubelet(host), { doc, file: path.join(root, 'var/lib/kubelet/kubestrap-node-config.yaml') });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
  it('a node document of another kind is refused naming its file', () => {
    const c = cfg({ nodeKubelet: { file: 'join.yaml', doc: { apiVersion: 'kubelet.config.k8s.io/v1', kind: 'KubeletConfiguration' } } });
    assert.throws(
      () => kubeletConfigYaml(cluster, c, new Host('/')),
      (err: unknown) => err instanceof ConfigError && /^join.yaml: apiVersion: "kubelet.config.k8s.io\/v1" is not supported/.test(err.oneLine()),
    );
  });
});

describe('bootstrap-kubelet.conf', () => {
  it("kubeadm's shape: cluster kubernetes, user tls-bootstrap-token-user with the token", async () => {
    const kc = await parseKubeconfig(bootstrapKubeconfig({ server: 'https://10.0.0.1:6443', caPem: 'CA' }, TOKEN), 'x');
    assert.deepEqual(
      [kc.clusterName, kc.userName, kc.contextName, kc.server, kc.caPem, kc.token],
      ['kubernetes', 'tls-bootstrap-token-user', 'tls-bootstrap-token-user@kubernetes', 'https://10.0.0.1:6443', 'CA', TOKEN],
    );
  });
});

describe('the kubelet service', () => {
  it("kubeadm's unit and drop-in; the supervisor runs the drop-in's command line", () => {
    assert.match(kubeletUnit(KUBELET), /^ExecStart=\/usr\/bin\/kubelet$/m);
    assert.match(kubeletUnit(KUBELET), /^Restart=always$/m);
    const dropIn = kubeletDropIn(KUBELET, new Host('/'));
    assert.match(
      dropIn,
      /^Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=\/etc\/kubernetes\/bootstrap-kubelet.conf --kubeconfig=\/etc\/kubernetes\/kubelet.conf"$/m,
    );
    assert.match(dropIn, /^Environment="KUBELET_CONFIG_ARGS=--config=\/var\/lib\/kubelet\/config.yaml"$/m);
    assert.match(dropIn, /^EnvironmentFile=-\/var\/lib\/kubelet\/kubeadm-flags.env$/m);
    assert.match(dropIn, /^ExecStart=\/usr\/bin\/kubelet \$KUBELET_KUBECONFIG_ARGS \$KUBELET_CONFIG_ARGS \$KUBELET_KUBEADM_ARGS \$KUBELET_EXTRA_ARGS$/m);
    const svc = kubeletService(KUBELET, new Host('/srv/w1'), ['--root-dir=/srv/w1/var/lib/kubelet']);
    assert.deepEqual(svc.args, [
      '--bootstrap-kubeconfig=/srv/w1/etc/kubernetes/bootstrap-kubelet.conf',
      '--kubeconfig=/srv/w1/etc/kubernetes/kubelet.conf',
      '--config=/srv/w1/var/lib/kubelet/config.yaml',
      '--root-dir=/srv/w1/var/lib/kubelet',
    ]);
  });

  it('under systemd: the unit files written, then daemon-reload, enable, restart (systemctl seam)', async () => {
    const root = path.join(dir, 'systemd');
    const host = new Host(root);
    const calls: string[][] = [];
    const said: string[] = [];
    await startNodeService(host, kubeletService(KUBELET, new Host('/'), []), {
      systemd: true,
      systemctl: async (a) => void calls.push([...a]),
      say: (m) => said.push(m),
    });
    assert.deepEqual(calls, [['daemon-reload'], ['enable', 'kubelet.service'], ['restart', 'kubelet.service']]);
    assert.match(readFileSync(path.join(root, KUBELET_SERVICE.dropIn), 'utf8'), /10-kubeadm|KUBELET_KUBEADM_ARGS/);
    assert.match(readFileSync(path.join(root, KUBELET_SERVICE.unit), 'utf8'), /Description=kubelet: The Kubernetes Node Agent/);
    assert.match(said.join('\n'), /through systemd \(kubelet.service\)/);
  });

  it('a dry run writes nothing and calls nothing', async () => {
    const host = new Host(path.join(dir, 'dry'), { dryRun: true });
    const calls: string[][] = [];
    await startNodeService(host, kubeletService(KUBELET, host, []), {
      systemd: true,
      dryRun: true,
      systemctl: async (a) => void calls.push([...a]),
      say: () => undefined,
    });
    assert.deepEqual(calls, []);
    assert.ok(host.planned.some((w) => w.path === KUBELET_SERVICE.dropIn));
  });
});

describe('join --agent', () => {
  it('kubelet-like flags for the agent: bootstrap kubeconfig, kubeconfig, cert dir, node, manifests, rootfs', () => {
    const args = agentJoinArgs(cfg({}, [{ name: 'node-ip', value: '10.0.0.2' }]), new Host('/srv/w2'));
    assert.deepEqual(args, [
      '--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf',
      '--kubeconfig=/etc/kubernetes/kubelet.conf',
      '--cert-dir=/var/lib/kubelet/pki',
      '--node-name=w1',
      '--pod-manifest-path=/etc/kubernetes/manifests',
      '--client-ca-file=/etc/kubernetes/pki/ca.crt',
      '--node-ip=10.0.0.2',
      '--rootfs=/srv/w2',
    ]);
  });
});

describe('reset notes', () => {
  it("kubeadm's notes, and that the Node object stays", () => {
    const text = resetNotes('w1');
    assert.match(text, /does not clean CNI configuration. To do so, you must remove \/etc\/cni\/net.d/);
    assert.match(text, /iptables/);
    assert.match(text, /The Node object "w1" is left in the cluster.*kubectl delete node w1/);
  });
});
