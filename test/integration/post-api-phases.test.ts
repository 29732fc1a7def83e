/**
 * The post-API init phases against a real control plane (etcd, kube-apiserver, controller-manager,
 * scheduler as processes from init's manifests; MirrorSync registers the node as the agent would):
 * wait-control-plane, cluster-admins, upload-config, upload-certs, mark-control-plane,
 * bootstrap-token, show-join-command. Then what a joining node relies on: anonymous cluster-info,
 * the bootstrapsigner's JWS verified with the token, token authentication, the CA pin (vs openssl),
 * and kubeadm-certs decrypting with the certificate key.
 */
import type { V1Pod } from '@kubernetes/client-node';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import https from 'node:https';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { memoryLogger } from '../../src/agent/log.js';
import { MirrorSync } from '../../src/agent/mirror/index.js';
import { kubeClient, type KubeClient } from '../../src/kube/client.js';
import { decryptWithCertificateKey } from '../../src/kube/copycerts.js';
import { verifyDetachedJWS } from '../../src/kube/discovery.js';
import { INIT_PHASES } from '../../src/phases/init/index.js';
import { memoryPrinter } from '../../src/output.js';
import { Runner } from '../../src/phases/runner.js';
import { startControlPlane, type ControlPlane } from '../support/apiserver.js';
import { componentsReady } from '../support/components.js';
import { TEST_TOKEN } from '../support/config-fixture.js';
import { waitFor } from '../support/proc.js';

const run = promisify(execFile);
const [TOKEN_ID, TOKEN_SECRET] = TEST_TOKEN.split('.') as [string, string];

function get(url: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { rejectUnauthorized: false, headers: token ? { Authorization: `Bearer ${token}` } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
  });
}

describe('post-API init phases on a real control plane', { skip: !componentsReady() && 'components not prepared' }, () => {
  let cp: ControlPlane;
  let sync: MirrorSync;
  let admin: KubeClient;
  const out = memoryPrinter();

  before(async () => {
    cp = await startControlPlane({ run: ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] });
    cp.ctx.out = out;
    cp.ctx.uploadCerts = true;
    sync = new MirrorSync({
      kubeconfig: cp.kubeconfig('kubelet'),
      host: cp.host,
      nodeName: cp.config.nodeName,
      nodeIP: cp.config.advertiseAddress,
      logger: memoryLogger(),
      states: () => [],
      kubeletVersion: 'v1.34.4',
      containerRuntimeVersion: 'kubestrap-process://0.1.0',
      kubeletPort: 10255,
    });
    sync.start();
    // init's own phase list from wait-control-plane on: the test follows any change of order
    const phases = INIT_PHASES.slice(INIT_PHASES.findIndex((p) => p.name === 'wait-control-plane'));
    await new Runner(phases).run(cp.ctx);
    admin = await kubeClient(cp.kubeconfig('admin'), cp.host);
  });

  after(async () => {
    await sync?.stop();
    await cp?.stop();
  });

  it('waits for all four components with one line each', () => {
    for (const c of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) {
      assert.ok(
        out.lines.some((l) => l.startsWith(`[control-plane-check] ${c} is healthy after `)),
        `${c} line in\n${out.lines.join('\n')}`,
      );
    }
  });

  it('makes admin.conf a cluster admin', async () => {
    const crb = await admin.rbac.readClusterRoleBinding({ name: 'kubeadm:cluster-admins' });
    assert.equal(crb.roleRef.name, 'cluster-admin');
    assert.equal(crb.subjects?.[0]?.name, 'kubeadm:cluster-admins');
  });

  it('uploads kubeadm-config and kubelet-config with their RBAC', async () => {
    const cm = await admin.core.readNamespacedConfigMap({ name: 'kubeadm-config', namespace: 'kube-system' });
    assert.match(cm.data?.ClusterConfiguration ?? '', /kind: ClusterConfiguration/);
    const kc = await admin.core.readNamespacedConfigMap({ name: 'kubelet-config', namespace: 'kube-system' });
    assert.match(kc.data?.kubelet ?? '', /kind: KubeletConfiguration/);
    await admin.rbac.readNamespacedRoleBinding({ name: 'kubeadm:nodes-kubeadm-config', namespace: 'kube-system' });
    await admin.rbac.readNamespacedRoleBinding({ name: 'kubeadm:kubelet-config', namespace: 'kube-system' });
  });

  it('marks the node as control-plane', async () => {
    const node = await admin.core.readNode({ name: cp.config.nodeName });
    assert.equal(node.metadata?.labels?.['node-role.kubernetes.io/control-plane'], '');
    assert.equal(node.metadata?.labels?.['node.kubernetes.io/exclude-from-external-load-balancers'], '');
    assert.ok(node.spec?.taints?.some((t) => t.key === 'node-role.kubernetes.io/control-plane' && t.effect === 'NoSchedule'));
  });

  it('uploads the certificates encrypted with the printed certificate key', async () => {
    const i = out.lines.indexOf('[upload-certs] Using certificate key:');
    const key = out.lines[i + 1]!;
    assert.match(key, /^[0-9a-f]{64}$/);
    const secret = await admin.core.readNamespacedSecret({ name: 'kubeadm-certs', namespace: 'kube-system' });
    const ca = decryptWithCertificateKey(Buffer.from(secret.data!['ca.crt']!, 'base64'), key);
    assert.equal(ca.toString('utf8'), await cp.host.readText('/etc/kubernetes/pki/ca.crt'));
    assert.equal(secret.metadata?.ownerReferences?.[0]?.kind, 'Secret');
    assert.match(secret.metadata?.ownerReferences?.[0]?.name ?? '', /^bootstrap-token-[a-z0-9]{6}$/);
  });

  it('serves cluster-info anonymously with a JWS that verifies with the token', async () => {
    const url = `${cp.apiserverURL}/api/v1/namespaces/kube-public/configmaps/cluster-info`;
    const cm = await waitFor(
      'jws-kubeconfig signature',
      async () => {
        const res = await get(url);
        assert.equal(res.status, 200, res.body);
        const parsed = JSON.parse(res.body) as { data: Record<string, string> };
        return parsed.data[`jws-kubeconfig-${TOKEN_ID}`] ? parsed.data : undefined;
      },
      60_000,
      500,
    );
    assert.ok(verifyDetachedJWS(cm[`jws-kubeconfig-${TOKEN_ID}`]!, cm.kubeconfig!, TOKEN_ID, TOKEN_SECRET));
    assert.ok(!verifyDetachedJWS(cm[`jws-kubeconfig-${TOKEN_ID}`]!, cm.kubeconfig!, TOKEN_ID, 'x'.repeat(16)));
    assert.match(cm.kubeconfig!, new RegExp(`server: ${cp.apiserverURL}`));
  });

  it('authenticates the bootstrap token (it may get nodes)', async () => {
    const res = await get(`${cp.apiserverURL}/api/v1/nodes/${cp.config.nodeName}`, TEST_TOKEN);
    assert.equal(res.status, 200, res.body);
    const denied = await get(`${cp.apiserverURL}/api/v1/namespaces/kube-system/secrets`, TEST_TOKEN);
    assert.equal(denied.status, 403);
  });

  it('prints a join command whose CA hash matches openssl', async () => {
    const text = out.lines.join('\n');
    const m = /--discovery-token-ca-cert-hash (sha256:[0-9a-f]{64})/.exec(text);
    assert.ok(m, text);
    const ca = cp.host.path('/etc/kubernetes/pki/ca.crt');
    const { stdout } = await run('sh', ['-c', `openssl x509 -pubkey -in ${ca} | openssl pkey -pubin -outform der | sha256sum`]);
    assert.equal(m[1], `sha256:${stdout.split(' ')[0]}`);
    assert.match(text, new RegExp(`kubestrap join 127\\.0\\.0\\.1:${cp.ports.apiserver} --token ${TEST_TOKEN}`));
    assert.match(text, /--control-plane --certificate-key [0-9a-f]{64}/);
  });

  it('wait-control-plane explains a component that never gets healthy', async () => {
    await cp.procs.get('kube-scheduler')!.stop(5000);
    const ctx = {
      ...cp.ctx,
      out: memoryPrinter(),
      config: { ...cp.config, timeoutsMs: { ...cp.config.timeoutsMs, controlPlaneComponentHealthCheck: 1500 } },
    };
    // A log file where the agent would keep it, to be tailed.
    const dir = `/var/log/pods/kube-system_kube-scheduler-${cp.config.nodeName}_0123/kube-scheduler`;
    await cp.host.writeFile(`${dir}/0.log`, Array.from({ length: 30 }, (_, i) => `2026-01-01T00:00:00Z stderr F line ${i}`).join('\n'));
    const pod: V1Pod = {
      metadata: { name: `kube-scheduler-${cp.config.nodeName}`, namespace: 'kube-system' },
      status: {
        phase: 'Running',
        containerStatuses: [
          {
            name: 'kube-scheduler',
            image: 'x',
            imageID: '',
            ready: false,
            restartCount: 4,
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { exitCode: 1, reason: 'Error' } },
          },
        ],
      },
    };
    const { waitForControlPlane } = await import('../../src/phases/init/wait-control-plane.js');
    await assert.rejects(
      waitForControlPlane(ctx, async () => pod),
      /did not become healthy within 1\.5s: kube-scheduler/,
    );
    const text = ctx.out.lines.join('\n');
    assert.match(text, /restarts=4, last exit code 1/);
    assert.match(text, /CrashLoopBackOff/);
    assert.match(text, /line 29/);
    assert.doesNotMatch(text, /line 9\b/);
  });
});
