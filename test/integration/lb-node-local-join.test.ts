/**
 * `join --node-local-lb` with a real kubelet on the test bed: cp1 is initialized with
 * `--node-local-lb` (its apiserver certificate then names 127.0.0.1), w1 joins with it: the
 * supervised `kubestrap lb` listens on w1's 127.0.0.1:7443, the kubelet's TLS bootstrap and its
 * kubelet.conf go through it, the Node turns Ready, and the balancer follows the `kubernetes`
 * EndpointSlice with kubelet.conf once the bootstrap wrote it. Then w2 joins with `--agent
 * --node-local-lb`: the agent runs the balancer itself, bootstraps through it, and registers with
 * its bed address (not 127.0.0.1, the server its kubeconfig names).
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { clusterSkipReason, startCluster, waitNodeReady } from '../support/cluster.js';
import { enablePodNetwork } from '../support/cni.js';
import { kubestrap } from '../support/init-e2e.js';
import { joinNode } from '../support/node-join.js';
import { waitFor } from '../support/proc.js';

test('a kubelet worker joined with --node-local-lb reaches the API through 127.0.0.1:7443', { skip: clusterSkipReason(), timeout: 600_000 }, async (t) => {
  const cluster = await startCluster({
    workers: ['w1', 'w2'],
    containerd: true,
    containerdNodes: ['w1'],
    privateMounts: ['w1'],
    extraArgs: ['--node-local-lb'],
  });
  t.after(async () => {
    t.diagnostic(`stop: ${(await cluster.stop()).join('; ') || 'reset left nothing to force'}`);
  });
  const { cp } = cluster;
  const w1 = cluster.workers[0]!;
  const cert = new X509Certificate(await readFile(path.join(cp.rootfs, 'etc/kubernetes/pki/apiserver.crt')));
  assert.match(cert.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
  assert.match(cert.subjectAltName ?? '', /DNS:localhost/);
  // Ready needs a pod network (the kubelet's NetworkReady)
  await enablePodNetwork(cluster.bed, w1);
  await cp.waitForJoinToken();
  const t0 = performance.now();
  const joined = await joinNode('kubestrap', w1, cp.join, { extraArgs: ['--node-local-lb'] });
  assert.equal(joined.code, 0, joined.output);
  await waitNodeReady(cp, 'w1');
  t.diagnostic(`w1 joined through its node-local balancer and Ready after ${Math.round(performance.now() - t0)} ms`);
  const kubeletConf = parse(await readFile(path.join(w1.rootfs, 'etc/kubernetes/kubelet.conf'), 'utf8')) as { clusters: { cluster: { server: string } }[] };
  assert.equal(kubeletConf.clusters[0]!.cluster.server, 'https://127.0.0.1:7443');
  const lbLog = path.join(w1.rootfs, 'var/log/kubestrap-lb.log');
  const log = await waitFor(
    'the balancer to follow the EndpointSlice',
    async () => {
      const text = await readFile(lbLog, 'utf8').catch(() => '');
      return /the kubernetes EndpointSlice lists/.test(text) ? text : undefined;
    },
    30_000,
    200,
  );
  assert.doesNotMatch(log, /Forbidden|cannot watch/);
  assert.match(log, new RegExp(`EndpointSlice lists 1 API server\\(s\\): ${cp.node.ip.replace(/\./g, '\\.')}:6443`));
  t.diagnostic(log.split('\n').filter(Boolean).slice(0, 6).join(' | '));

  const w2 = cluster.workers[1]!;
  const args = ['join', ...cp.join.args, '--agent', '--node-local-lb', '--node-name', 'w2', '--rootfs', w2.rootfs];
  const t1 = performance.now();
  const agentJoin = await kubestrap(args, 180_000, w2.launcher);
  assert.equal(agentJoin.code, 0, `${agentJoin.stderr}\n${agentJoin.stdout}`);
  const w2Node = await waitNodeReady(cp, 'w2');
  t.diagnostic(`w2 (agent) joined through its in-agent balancer and Ready after ${Math.round(performance.now() - t1)} ms`);
  assert.deepEqual(
    w2Node.status?.addresses?.filter((a) => a.type === 'InternalIP').map((a) => a.address),
    [w2.ip],
  );
  const w2Conf = parse(await readFile(path.join(w2.rootfs, 'etc/kubernetes/kubelet.conf'), 'utf8')) as { clusters: { cluster: { server: string } }[] };
  assert.equal(w2Conf.clusters[0]!.cluster.server, 'https://127.0.0.1:7443');
  const agentLog = await waitFor(
    "the agent's balancer to follow the EndpointSlice",
    async () => {
      const text = await readFile(path.join(w2.rootfs, 'var/log/kubestrap-agent.log'), 'utf8').catch(() => '');
      return /the kubernetes EndpointSlice lists/.test(text) ? text : undefined;
    },
    30_000,
    200,
  );
  assert.doesNotMatch(agentLog, /Forbidden|cannot watch/);
});
