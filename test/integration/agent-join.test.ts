/**
 * An agent-only node joins a kubestrap control plane the way `join --agent` starts it: cp1 runs
 * `kubestrap init`; w2 (a test bed node, so its kubelet API port does not clash with cp1's agent)
 * gets a bootstrap token (a Secret made with the admin client, as `kubestrap token create` does), a
 * bootstrap kubeconfig, the cluster CA and a manifest dir with one static pod, and runs
 * `kubestrap agent --bootstrap-kubeconfig ...`. Then: the CSR is approved by the controller-manager
 * on its own and signed, kubelet.conf points at the cert dir's current pair, Node w2 is Ready with
 * the static-pods-only label and w2's own address, the mirror pod `web-w2` runs; a Deployment pod
 * pinned to w2 stays Pending with reason StaticPodsOnly and a Warning event, and so do the pods of a
 * DaemonSet that tolerates everything on cp1 and w2 (not recreated in a loop). On w3, whose token's
 * group has no auto-approval, a denied CSR is one error line and nothing is written. Last, rotation for
 * real: the agent restarts with a short-lived certificate of the cluster CA in the cert dir, rotates
 * it through a CSR of its own identity (selfnodeclient approval) and keeps its Lease renewed past
 * the old certificate's end, without a restart.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { readFile, readlink, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import type { CoreV1EventList, V1Lease, V1Node, V1Pod, V1PodList } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { Host } from '../../src/host/host.js';
import { kubeClient } from '../../src/kube/client.js';
import { bootstrapTokenSecret, DEFAULT_NODE_TOKEN_GROUP, generateToken } from '../../src/kube/bootstrap-token.js';
import { Signer } from '../../src/pki/certificate.js';
import { generateKeyPair, privateKeyPem } from '../../src/pki/keys.js';
import { killSleepers, sleepers } from '../support/agent-child.js';
import { clusterSkipReason, startCluster } from '../support/cluster.js';
import { REPO } from '../support/init-e2e.js';
import { waitFor, type Proc } from '../support/proc.js';
import { testbedLeftovers, type TestbedNode } from '../support/testbed.js';

interface Csr {
  metadata: { name: string };
  spec: { signerName: string; username: string; usages: string[] };
  status?: { conditions?: { type: string; status: string; reason?: string }[]; certificate?: string };
}

const PKI = 'var/lib/kubelet/pki';

test('join --agent: TLS bootstrap, Node with the label, mirror pod, bound pods, rotation', { skip: clusterSkipReason(), timeout: 900_000 }, async (t) => {
  const cluster = await startCluster({ workers: ['w2', 'w3'] });
  // a sleep duration unique to this run: it names web-w2's process in /proc
  const token = String(8_000_000 + Math.floor(Math.random() * 900_000) * 10);
  let agent: Proc | undefined;
  let w3Agent: Proc | undefined;
  let stopped = false;
  t.after(async () => {
    await agent?.stop(10_000);
    await w3Agent?.stop(10_000);
    killSleepers([token]);
    if (!stopped) await cluster.stop();
  });
  const { cp, bed } = cluster;
  const w2 = bed.node('w2');
  const admin = await kubeClient(cp.adminConf, new Host('/'));

  // what join --agent lays down before it starts the agent: token, bootstrap kubeconfig, CA, manifests
  const bootstrapToken = generateToken();
  await admin.core.createNamespacedSecret({
    namespace: 'kube-system',
    body: bootstrapTokenSecret({ token: bootstrapToken, ttl: '1h', usages: ['signing', 'authentication'], groups: [DEFAULT_NODE_TOKEN_GROUP] }),
  });
  const caPem = await readFile(path.join(cp.rootfs, 'etc/kubernetes/pki/ca.crt'), 'utf8');
  const w2Host = new Host(w2.rootfs);
  await w2Host.writeFile('/etc/kubernetes/pki/ca.crt', caPem);
  await writeBootstrapKubeconfig(w2Host, `https://${cp.node.ip}:6443`, caPem, bootstrapToken);
  await w2Host.writeFile(
    '/etc/kubernetes/manifests/web.yaml',
    stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', namespace: 'default' },
      spec: { hostNetwork: true, containers: [{ name: 'web', image: 'busybox', command: ['sh', '-c', `echo hello from w2; exec sleep ${token}`] }] },
    }),
  );

  const startAgent = (n: number): Promise<Proc> => startNodeAgent(w2, n);
  const t0 = performance.now();
  agent = await startAgent(1);

  // the CSR: by the bootstrap token's user, for the kubelet signer, approved by the csrapprover, signed
  const tokenUser = `system:bootstrap:${bootstrapToken.split('.')[0]}`;
  const csr = await waitFor(
    'bootstrap CSR issued',
    async () => {
      const list = await cp.kubectlJson<{ items: Csr[] }>(['get', 'csr']);
      return list.items.find((c) => c.spec.username === tokenUser && c.status?.certificate);
    },
    120_000,
    250,
  ).catch(async (err: unknown) => {
    throw new Error(`${(err as Error).message}\nagent log:\n${await tail(agent!)}`);
  });
  t.diagnostic(`CSR ${csr.metadata.name} issued ${((performance.now() - t0) / 1000).toFixed(2)} s after the agent started`);
  assert.match(csr.metadata.name, /^node-csr-[A-Za-z0-9_-]{43}$/);
  assert.equal(csr.spec.signerName, 'kubernetes.io/kube-apiserver-client-kubelet');
  assert.deepEqual(csr.spec.usages, ['digital signature', 'client auth']);
  assert.deepEqual(
    csr.status?.conditions?.map((c) => [c.type, c.status, c.reason]),
    [['Approved', 'True', 'AutoApproved']],
  );

  const node = await waitFor(
    'w2 Ready',
    async () => {
      const n = await cp.kubectlJson<V1Node>(['get', 'node', 'w2']).catch(() => undefined);
      return n?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? n : undefined;
    },
    60_000,
    250,
  );
  t.diagnostic(`w2 Ready ${((performance.now() - t0) / 1000).toFixed(2)} s after the agent started`);
  assert.equal(node.metadata?.labels?.['node.kubestrap.io/static-pods-only'], 'true');
  assert.equal(node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address, w2.ip, "w2's own address, not the API server's");
  // the pair and kubelet.conf, as the kubelet leaves them
  const link = await readlink(path.join(w2.rootfs, PKI, 'kubelet-client-current.pem'));
  assert.match(link, /^kubelet-client-\d{4}(-\d\d){5}\.pem$/);
  const kubeletConf = await readFile(path.join(w2.rootfs, 'etc/kubernetes/kubelet.conf'), 'utf8');
  assert.match(kubeletConf, /client-certificate: \/var\/lib\/kubelet\/pki\/kubelet-client-current\.pem/);
  const issued = new X509Certificate(await readFile(path.join(w2.rootfs, PKI, link), 'utf8'));
  assert.equal(issued.subject, 'O=system:nodes\nCN=system:node:w2');

  const mirror = await waitFor(
    'mirror pod web-w2 running',
    async () => {
      const p = await cp.kubectlJson<V1Pod>(['get', 'pod', '-n', 'default', 'web-w2']).catch(() => undefined);
      return p?.status?.phase === 'Running' ? p : undefined;
    },
    60_000,
    250,
  );
  assert.equal(mirror.spec?.nodeName, 'w2');
  assert.equal(mirror.status?.containerStatuses?.[0]?.restartCount, 0);
  assert.equal(sleepers(token).length, 1, 'web-w2 runs as one process');
  // kubectl logs: kube-apiserver → w2's kubelet API, its SubjectAccessReview with the bootstrapped kubelet.conf
  const podLogs = (what: string): Promise<string> =>
    waitFor(
      what,
      () =>
        cp.kubectl(['logs', '-n', 'default', 'web-w2']).then(
          (l) => (l.includes('hello') ? l : undefined),
          () => undefined,
        ),
      30_000,
      250,
    );
  assert.match(await podLogs('kubectl logs web-w2'), /hello from w2/);
  assert.ok(mirror.metadata?.annotations?.['kubernetes.io/config.mirror']);

  // a Deployment's pod bound to w2: Pending with StaticPodsOnly, an event saying what to do
  await admin.apps.createNamespacedDeployment({
    namespace: 'default',
    body: {
      metadata: { name: 'pinned' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'pinned' } },
        template: { metadata: { labels: { app: 'pinned' } }, spec: { nodeName: 'w2', containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] } },
      },
    },
  });
  const bound = await waitFor(
    'pinned pod marked StaticPodsOnly',
    async () => {
      const list = await cp.kubectlJson<V1PodList>(['get', 'pods', '-n', 'default', '-l', 'app=pinned']);
      return list.items.find((p) => p.status?.reason === 'StaticPodsOnly');
    },
    60_000,
    250,
  );
  assert.equal(bound.status?.phase, 'Pending');
  assert.match(bound.status?.message ?? '', /^node w2 runs the kubestrap agent, which runs static pods only/);
  const table = await cp.kubectl(['get', 'pods', '-n', 'default', '-l', 'app=pinned']);
  assert.match(table, /pinned-\S+\s+0\/1\s+StaticPodsOnly\s+0\s+/, table);
  t.diagnostic(table.trim());
  const events = await waitFor(
    'StaticPodsOnly event',
    async () => {
      const list = await cp.kubectlJson<CoreV1EventList>([
        'get',
        'events',
        '-n',
        'default',
        '--field-selector',
        `involvedObject.name=${bound.metadata!.name!}`,
      ]);
      return list.items.find((e) => e.reason === 'StaticPodsOnly');
    },
    30_000,
    250,
  );
  assert.equal(events.type, 'Warning');
  assert.match(events.message ?? '', /nodeAffinity: node\.kubestrap\.io\/static-pods-only DoesNotExist/);
  // no replacement loop: still the one pod after a few resyncs
  await new Promise((r) => setTimeout(r, 5000));
  const pinned = await cp.kubectlJson<V1PodList>(['get', 'pods', '-n', 'default', '-l', 'app=pinned']);
  assert.deepEqual(
    pinned.items.map((p) => p.metadata?.name),
    [bound.metadata?.name],
  );

  // a DaemonSet that tolerates everything (as kube-proxy's and CNI DaemonSets do): its pods on both
  // agent nodes (cp1 from init, w2) stay Pending too, and are not deleted and recreated
  const cp1 = await cp.kubectlJson<V1Node>(['get', 'node', 'cp1']);
  assert.equal(cp1.metadata?.labels?.['node.kubestrap.io/static-pods-only'], 'true', "init's control-plane agent labels its Node too");
  await admin.apps.createNamespacedDaemonSet({
    namespace: 'default',
    body: {
      metadata: { name: 'everywhere' },
      spec: {
        selector: { matchLabels: { app: 'everywhere' } },
        template: {
          metadata: { labels: { app: 'everywhere' } },
          spec: { tolerations: [{ operator: 'Exists' }], containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] },
        },
      },
    },
  });
  const dsPods = await waitFor(
    'DaemonSet pods marked on cp1 and w2',
    async () => {
      const list = await cp.kubectlJson<V1PodList>(['get', 'pods', '-n', 'default', '-l', 'app=everywhere']);
      const marked = list.items.filter((p) => p.status?.phase === 'Pending' && p.status.reason === 'StaticPodsOnly');
      return marked.length === 2 ? marked : undefined;
    },
    60_000,
    250,
  );
  assert.deepEqual(dsPods.map((p) => p.spec?.nodeName).sort(), ['cp1', 'w2']);
  await new Promise((r) => setTimeout(r, 5000));
  const dsAfter = await cp.kubectlJson<V1PodList>(['get', 'pods', '-n', 'default', '-l', 'app=everywhere']);
  assert.deepEqual(dsAfter.items.map((p) => p.metadata?.uid).sort(), dsPods.map((p) => p.metadata?.uid).sort(), 'the same two pods: no delete-recreate loop');
  t.diagnostic((await cp.kubectl(['get', 'pods', '-n', 'default', '-o', 'wide'])).trim());

  // a denied request is one clear line, and nothing is written: w3's token may create CSRs but is not auto-approved
  const w3 = bed.node('w3');
  const w3Host = new Host(w3.rootfs);
  const manualToken = generateToken();
  const manualGroup = 'system:bootstrappers:manual';
  await admin.core.createNamespacedSecret({
    namespace: 'kube-system',
    body: bootstrapTokenSecret({ token: manualToken, ttl: '1h', usages: ['signing', 'authentication'], groups: [manualGroup] }),
  });
  await admin.rbac.createClusterRoleBinding({
    body: {
      metadata: { name: 'test-manual-bootstrap' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:node-bootstrapper' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: manualGroup }],
    },
  });
  await w3Host.writeFile('/etc/kubernetes/pki/ca.crt', caPem);
  await writeBootstrapKubeconfig(w3Host, `https://${cp.node.ip}:6443`, caPem, manualToken);
  await w3Host.mkdir('/etc/kubernetes/manifests');
  w3Agent = await startNodeAgent(w3, 1);
  const manualUser = `system:bootstrap:${manualToken.split('.')[0]}`;
  const pending = await waitFor(
    'w3 CSR pending',
    async () => (await cp.kubectlJson<{ items: Csr[] }>(['get', 'csr'])).items.find((c) => c.spec.username === manualUser),
    60_000,
    250,
  );
  assert.equal(pending.status?.conditions, undefined, 'not approved: the manual group has no auto-approval');
  await cp.kubectl(['certificate', 'deny', pending.metadata.name]);
  const deniedLine = await waitFor(
    'the denial in the agent log',
    async () => (await readFile(w3Agent!.logFile, 'utf8')).split('\n').find((l) => l.includes('was denied')),
    30_000,
    250,
  );
  assert.match(deniedLine, new RegExp(`ERROR "TLS bootstrap: certificate signing request ${pending.metadata.name} was denied \\(reason \\w+`));
  t.diagnostic(deniedLine);
  assert.equal(await w3Host.readOptional('/etc/kubernetes/kubelet.conf'), undefined, 'no kubelet.conf without a certificate');
  assert.ok(w3Agent.running(), 'the agent keeps running (and retries), as the kubelet');
  await w3Agent.stop(10_000);
  w3Agent = undefined;

  // rotation: restart on a short-lived certificate of the cluster CA; it is due within seconds
  await agent.stop(10_000);
  t.diagnostic(
    (await readFile(agent.logFile, 'utf8'))
      .split('\n')
      .filter((l) => /tls-bootstrap|API server answers|registered node/.test(l))
      .join('\n'),
  );
  const caKey = createPrivateKey(await readFile(path.join(cp.rootfs, 'etc/kubernetes/pki/ca.key')));
  const { privateKey } = await generateKeyPair('ECDSA-P256');
  const now = Date.now();
  const shortNotAfter = new Date(now + 20_000);
  const short = await new Signer(caPem, caKey).sign({
    commonName: 'system:node:w2',
    organization: ['system:nodes'],
    usages: ['clientAuth'],
    altNames: { dns: [], ips: [] },
    isCA: false,
    notBefore: new Date(now - 30_000),
    notAfter: shortNotAfter,
    publicKey: createPublicKey(privateKey),
  });
  await w2Host.writeFile(`/${PKI}/kubelet-client-short.pem`, short + privateKeyPem(privateKey), 0o600);
  await rm(path.join(w2.rootfs, PKI, 'kubelet-client-current.pem'));
  await symlink('kubelet-client-short.pem', path.join(w2.rootfs, PKI, 'kubelet-client-current.pem'));
  agent = await startAgent(2);
  const rotationCsr = await waitFor(
    'rotation CSR issued',
    async () => {
      const list = await cp.kubectlJson<{ items: Csr[] }>(['get', 'csr']);
      return list.items.find((c) => c.spec.username === 'system:node:w2' && c.status?.certificate);
    },
    60_000,
    250,
  ).catch(async (err: unknown) => {
    throw new Error(`${(err as Error).message}\nagent log:\n${await tail(agent!)}`);
  });
  assert.match(rotationCsr.metadata.name, /^csr-/);
  assert.equal(rotationCsr.status?.conditions?.find((c) => c.type === 'Approved')?.reason, 'AutoApproved');
  const rotated = await readlink(path.join(w2.rootfs, PKI, 'kubelet-client-current.pem'));
  assert.notEqual(rotated, 'kubelet-client-short.pem');
  const fresh = new X509Certificate(await readFile(path.join(w2.rootfs, PKI, rotated), 'utf8'));
  assert.ok(new Date(fresh.validTo).getTime() > now + 300 * 24 * 3600_000, `the controller-manager's year: ${fresh.validTo}`);
  // the same agent process keeps talking to the API server after the short certificate ended
  const lease = await waitFor(
    'lease renewed after the short certificate expired',
    async () => {
      const l = await admin.coordination.readNamespacedLease({ name: 'w2', namespace: 'kube-node-lease' });
      return l.spec?.renewTime && new Date(l.spec.renewTime as unknown as string).getTime() > shortNotAfter.getTime() + 1000 ? l : undefined;
    },
    60_000,
    500,
  );
  assert.ok((lease as V1Lease).spec?.holderIdentity === 'w2');
  assert.ok(agent.running(), 'no restart');
  // and the kubelet API's reviews use the rotated certificate too (the short one has expired)
  assert.match(await podLogs('kubectl logs after the rotation'), /hello from w2/);
  const log = await readFile(agent.logFile, 'utf8');
  assert.match(log, /client certificate rotated/);
  t.diagnostic(
    log
      .split('\n')
      .filter((l) => /tls-bootstrap|cert-rotation|reloaded/.test(l))
      .join('\n'),
  );

  await agent.stop(10_000);
  agent = undefined;
  killSleepers([token]);
  const notes = await cluster.stop();
  stopped = true;
  if (notes.length) t.diagnostic(`stop: ${notes.join('; ')}`);
  assert.deepEqual(testbedLeftovers(bed), []);
});

/** `kubestrap agent` on a node as join --agent starts it: kubelet-like flags, the node's rootfs and manifest dir. */
function startNodeAgent(node: TestbedNode, n: number): Promise<Proc> {
  return node.spawn(`agent-${n}`, process.execPath, [
    path.join(REPO, 'bin/kubestrap.js'),
    'agent',
    '--rootfs',
    node.rootfs,
    '--runtime',
    'process',
    '--node-name',
    node.name,
    '--kubeconfig',
    '/etc/kubernetes/kubelet.conf',
    '--bootstrap-kubeconfig',
    '/etc/kubernetes/bootstrap-kubelet.conf',
    '--pod-manifest-path',
    '/etc/kubernetes/manifests',
    '--stop-pods-on-exit',
  ]);
}

/** bootstrap-kubelet.conf as kubeadm's join writes it: the cluster's server and CA, the token. */
async function writeBootstrapKubeconfig(host: Host, server: string, caPem: string, token: string): Promise<void> {
  await host.writeFile(
    '/etc/kubernetes/bootstrap-kubelet.conf',
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'kubernetes', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
      contexts: [{ name: 'tls-bootstrap-token-user@kubernetes', context: { cluster: 'kubernetes', user: 'tls-bootstrap-token-user' } }],
      'current-context': 'tls-bootstrap-token-user@kubernetes',
      users: [{ name: 'tls-bootstrap-token-user', user: { token } }],
    }),
    0o600,
  );
}

async function tail(p: Proc): Promise<string> {
  return (await readFile(p.logFile, 'utf8').catch(() => '')).split('\n').slice(-30).join('\n');
}
