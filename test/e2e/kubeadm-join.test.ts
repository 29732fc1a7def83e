/**
 * The real `kubeadm join` (the harness' build of the suite's version) joins worker w1 to a kubestrap
 * control plane on cp1, with the join command init printed, unchanged: kubeadm's discovery, its
 * kubelet-start (kubelet-config and kubeadm-config from the cluster), the kubelet's TLS bootstrap
 * with the CSR approved by the controller-manager, the Node Ready. kubeadm and the kubelet run in
 * w1's private mount namespace, so the host's /etc/kubernetes and /var/lib/kubelet are untouched.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { clusterSkipReason, startCluster, waitNodeReady } from '../support/cluster.js';
import { components } from '../support/components.js';
import { enablePodNetwork } from '../support/cni.js';
import { kubeadmJoin } from '../support/kubeadm-join.js';
import { NODE_PRIVATE_DIRS, testbedLeftovers } from '../support/testbed.js';

/** The host's view of the dirs kubeadm and the kubelet hard-code: which exist and what is in them. */
function hostDirs(): Record<string, string[] | null> {
  const out: Record<string, string[] | null> = {};
  for (const dir of NODE_PRIVATE_DIRS) out[dir] = existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).sort() : null;
  return out;
}

interface Csr {
  metadata: { name: string };
  spec: { signerName: string; username: string };
  status?: { conditions?: { type: string; status: string; reason?: string }[]; certificate?: string };
}

test('the real kubeadm join adds a worker to a kubestrap control plane', { skip: clusterSkipReason(), timeout: 900_000 }, async (t) => {
  const before = hostDirs();
  const cluster = await startCluster({ workers: ['w1'], containerd: true, containerdNodes: ['w1'], privateMounts: ['w1'], images: ['pause'] });
  let stopped = false;
  t.after(async () => {
    if (!stopped) await cluster.stop();
  });
  const { cp, bed } = cluster;
  const w1 = bed.node('w1');
  await enablePodNetwork(bed, w1);

  const t0 = performance.now();
  const join = await kubeadmJoin(w1, cp.join, { timeoutMs: 300_000 });
  const joinS = (performance.now() - t0) / 1000;
  const kubeletLog = join.kubelet ? `\nkubelet log: ${join.kubelet.logFile}` : '';
  assert.equal(join.code, 0, `kubeadm join exited ${join.code}:\n${join.output}${kubeletLog}`);
  assert.match(join.output, /This node has joined the cluster/);
  // kubeadm goes on without what it may not read (e.g. "Continuing without it"): it must find all of it
  assert.doesNotMatch(join.output, /is forbidden|Continuing without it/, 'kubeadm found everything it reads in the cluster');
  t.diagnostic(`kubeadm ${join.argv.slice(1).join(' ')}\n${join.output.trim()}`);
  t.diagnostic(`kubeadm join took ${joinS.toFixed(2)} s`);

  const node = await waitNodeReady(cp, 'w1');
  t.diagnostic(`w1 Ready ${((performance.now() - t0) / 1000).toFixed(2)} s after kubeadm join started`);
  assert.equal(node.status?.nodeInfo?.kubeletVersion, components().kubernetesVersion);
  assert.equal(node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address, w1.ip);
  const nodes = await cp.kubectl(['get', 'nodes']);
  assert.match(nodes, /^w1\s+Ready\s+<none>\s+\S+\s+v\d/m, nodes);
  t.diagnostic(nodes.trim());

  // the kubelet's client certificate came through a CSR the controller-manager approved on its own
  const csrs = await cp.kubectlJson<{ items: Csr[] }>(['get', 'csr']);
  const bootstrapUser = `system:bootstrap:${cp.join.token.split('.')[0]}`;
  const csr = csrs.items.find((c) => c.spec.username === bootstrapUser);
  assert.ok(csr, `a CSR by ${bootstrapUser}: ${JSON.stringify(csrs.items.map((c) => c.spec))}`);
  assert.equal(csr.spec.signerName, 'kubernetes.io/kube-apiserver-client-kubelet');
  const approved = csr.status?.conditions?.find((c) => c.type === 'Approved');
  assert.equal(approved?.status, 'True');
  assert.equal(approved?.reason, 'AutoApproved');
  assert.ok(csr.status?.certificate, 'the CSR was signed');
  t.diagnostic((await cp.kubectl(['get', 'csr'])).trim());
  // what kubeadm wrote is in w1's rootfs
  for (const f of ['etc/kubernetes/kubelet.conf', 'etc/kubernetes/pki/ca.crt', 'var/lib/kubelet/config.yaml', 'var/lib/kubelet/kubeadm-flags.env']) {
    assert.ok(existsSync(path.join(w1.rootfs, f)), `${f} in w1's rootfs`);
  }

  const notes = await cluster.stop();
  stopped = true;
  if (notes.length) t.diagnostic(`stop: ${notes.join('; ')}`);
  assert.deepEqual(testbedLeftovers(bed), []);
  assert.deepEqual(hostDirs(), before, "the host's own dirs are untouched");
});
