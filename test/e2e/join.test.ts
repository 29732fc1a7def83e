/**
 * `kubestrap join` with the real kubelet: a kubestrap control plane on cp1, worker w1 joined with
 * the discovery init printed (token + CA pin) through a JoinConfiguration whose KubeletConfiguration
 * document carries what this machine needs of a kubelet (nothing of it is in what join writes by
 * default). Shown: the Node Ready with the kubelet's version, the CSR auto-approved; bad inputs (wrong
 * pin, expired token, unreachable endpoint, unknown field, joining twice) each one line, exit 1,
 * nothing written; reset stops the kubelet and removes what join wrote.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { clusterSkipReason, startCluster, waitNodeReady } from '../support/cluster.js';
import { enablePodNetwork } from '../support/cni.js';
import { components } from '../support/components.js';
import { kubestrap, type CliResult } from '../support/init-e2e.js';
import { kubeletMachineSettings } from '../support/kubelet.js';
import { waitFor } from '../support/proc.js';
import { testbedLeftovers, type TestbedNode } from '../support/testbed.js';

interface Csr {
  spec: { signerName: string; username: string };
  status?: { conditions?: { type: string; status: string; reason?: string }[]; certificate?: string };
}

/** Every path under a dir, relative (what "nothing written" compares). */
function listing(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).sort() : [];
}

/** The files join writes, with their mtimes. */
function joinFiles(rootfs: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of [
    ...listing(path.join(rootfs, 'etc/kubernetes')).map((f) => `etc/kubernetes/${f}`),
    'var/lib/kubelet/config.yaml',
    'var/lib/kubelet/kubeadm-flags.env',
  ]) {
    const p = path.join(rootfs, f);
    if (existsSync(p)) out[f] = statSync(p).mtimeMs;
  }
  return out;
}

/** A stderr that is one `error...` line. */
function oneErrorLine(r: CliResult, pattern: RegExp): string {
  assert.equal(r.code, 1, `exit 1, got ${r.code}:\n${r.stdout}\n${r.stderr}`);
  const lines = r.stderr.split('\n').filter((l) => l.trim() && !l.includes('WARNING'));
  assert.equal(lines.length, 1, `one error line:\n${r.stderr}`);
  assert.match(lines[0]!, pattern);
  return lines[0]!;
}

test('kubestrap join: a worker with the real kubelet joins a kubestrap control plane', { skip: clusterSkipReason(), timeout: 900_000 }, async (t) => {
  const cluster = await startCluster({ workers: ['w1', 'w2'], containerd: true, containerdNodes: ['w1'], privateMounts: ['w1'], images: ['pause'] });
  let stopped = false;
  t.after(async () => {
    if (!stopped) await cluster.stop();
  });
  const { cp, bed } = cluster;
  const w1: TestbedNode = bed.node('w1');
  await enablePodNetwork(bed, w1);
  const kubelet = components().binaries.kubelet.path;
  const common = ['--rootfs', w1.rootfs, '--kubelet-path', kubelet];
  const join = (args: readonly string[], timeoutMs = 300_000): Promise<CliResult> => kubestrap(['join', ...args], timeoutMs, w1.launcher);

  /** A JoinConfiguration for w1 (+ the node's KubeletConfiguration), with overrides. */
  const config = async (name: string, discovery: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<string> => {
    const joinDoc = {
      apiVersion: 'kubeadm.k8s.io/v1beta4',
      kind: 'JoinConfiguration',
      nodeRegistration: { name: 'w1', criSocket: w1.containerd!.endpoint, kubeletExtraArgs: [{ name: 'node-ip', value: w1.ip }] },
      discovery,
      ...extra,
    };
    const kubeletDoc = { apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration', ...kubeletMachineSettings(w1) };
    const file = path.join(w1.dir, `${name}.yaml`);
    await writeFile(file, `${stringify(joinDoc)}---\n${stringify(kubeletDoc)}`);
    return file;
  };
  const tokenDiscovery = (over: Record<string, unknown> = {}) => ({
    bootstrapToken: { apiServerEndpoint: cp.join.endpoint, token: cp.join.token, caCertHashes: cp.join.caCertHashes, ...over },
  });

  // --- bad inputs: each one line, exit 1, nothing written
  const empty = listing(w1.rootfs);
  const wrongPin = `sha256:${'0'.repeat(64)}`;
  const bad: [string, () => Promise<CliResult>, RegExp][] = [
    [
      'wrong CA pin',
      () =>
        join([
          cp.join.endpoint,
          '--token',
          cp.join.token,
          '--discovery-token-ca-cert-hash',
          wrongPin,
          '--node-name',
          'w1',
          '--cri-socket',
          w1.containerd!.endpoint,
          ...common,
        ]),
      new RegExp(`none of the public keys "${cp.join.caCertHashes[0]}" are pinned \\(expected ${wrongPin}\\)`),
    ],
    [
      'expired token',
      async () => {
        // a token whose expiration has passed: the bootstrapsigner never signs for it
        const secret = {
          apiVersion: 'v1',
          kind: 'Secret',
          type: 'bootstrap.kubernetes.io/token',
          metadata: { name: 'bootstrap-token-exp123', namespace: 'kube-system' },
          stringData: {
            'token-id': 'exp123',
            'token-secret': '0123456789abcdef',
            expiration: '2020-01-01T00:00:00Z',
            'usage-bootstrap-signing': 'true',
            'usage-bootstrap-authentication': 'true',
          },
        };
        const f = path.join(w1.dir, 'expired-secret.json');
        await writeFile(f, JSON.stringify(secret));
        await cp.kubectl(['apply', '-f', f]);
        return join(['--config', await config('expired', tokenDiscovery({ token: 'exp123.0123456789abcdef' }), { timeouts: { discovery: '4s' } }), ...common]);
      },
      /could not find a JWS signature in the cluster-info ConfigMap for token ID "exp123".*gave up after/,
    ],
    [
      'unreachable endpoint',
      async () =>
        join([
          '--config',
          await config('unreachable', tokenDiscovery({ apiServerEndpoint: '198.18.0.250:6443' }), { timeouts: { discovery: '4s' } }),
          ...common,
        ]),
      /failed to request the cluster-info ConfigMap from https:\/\/198\.18\.0\.250:6443.*gave up after 4(\.\d+)?s/,
    ],
    [
      'unknown field',
      async () => join(['--config', await config('unknown', tokenDiscovery(), { nodeRegistrationz: {} }), ...common]),
      /join\.yaml|unknown\.yaml: nodeRegistrationz: unknown field in JoinConfiguration \(did you mean "nodeRegistration"\?\)/,
    ],
  ];
  for (const [what, run, pattern] of bad) {
    const t0 = performance.now();
    const r = await run();
    const line = oneErrorLine(r, pattern);
    t.diagnostic(`${what} (${((performance.now() - t0) / 1000).toFixed(1)} s): ${line}\n${r.stdout.trim()}`);
    assert.deepEqual(listing(w1.rootfs), empty, `${what}: nothing written`);
  }

  // --- a dry run reads the cluster (discovery, kubelet-config) and writes nothing
  const dry = await join(['--config', await config('dry', tokenDiscovery()), '--dry-run', ...common]);
  assert.equal(dry.code, 0, `dry run: ${dry.stdout}\n${dry.stderr}`);
  assert.match(dry.stdout, /\[dryrun\] Would write file .*\/var\/lib\/kubelet\/config.yaml/);
  assert.match(dry.stdout, /Would start the kubelet as a supervised daemon/);
  assert.match(dry.stdout, /Would wait for the kubelet to be bootstrapped/);
  assert.deepEqual(listing(w1.rootfs), empty, 'dry run: nothing written');
  // one phase from the same runner
  const pre = await join(['phase', 'preflight', '--config', await config('phase', tokenDiscovery()), ...common]);
  assert.equal(pre.code, 0, `join phase preflight: ${pre.stdout}\n${pre.stderr}`);
  assert.deepEqual(listing(w1.rootfs), empty, 'preflight: nothing written');

  // --- the join
  const t0 = performance.now();
  const good = await join(['--config', await config('join', tokenDiscovery(), { timeouts: { tlsBootstrap: '2m' } }), ...common]);
  const joinS = (performance.now() - t0) / 1000;
  const kubeletLog = (): string => readFileSync(path.join(w1.rootfs, 'var/log/kubestrap-kubelet.log'), 'utf8').split('\n').slice(-40).join('\n');
  assert.equal(good.code, 0, `join exited ${good.code}:\n${good.stdout}\n${good.stderr}\nkubelet log:\n${kubeletLog()}`);
  assert.match(good.stdout, /This node has joined the cluster/);
  t.diagnostic(`kubestrap join took ${joinS.toFixed(2)} s:\n${good.stdout.trim()}`);
  for (const f of [
    'etc/kubernetes/kubelet.conf',
    'etc/kubernetes/pki/ca.crt',
    'var/lib/kubelet/config.yaml',
    'var/lib/kubelet/kubeadm-flags.env',
    'var/lib/kubelet/instance-config.yaml',
  ]) {
    assert.ok(existsSync(path.join(w1.rootfs, f)), `${f} in w1's rootfs`);
  }
  assert.ok(!existsSync(path.join(w1.rootfs, 'etc/kubernetes/bootstrap-kubelet.conf')), 'bootstrap-kubelet.conf removed after the bootstrap, as kubeadm');

  const node = await waitNodeReady(cp, 'w1');
  t.diagnostic(`w1 Ready ${((performance.now() - t0) / 1000).toFixed(2)} s after join started`);
  assert.equal(node.status?.nodeInfo?.kubeletVersion, components().kubernetesVersion);
  assert.equal(node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address, w1.ip);
  t.diagnostic((await cp.kubectl(['get', 'nodes', '-o', 'wide'])).trim());

  const csrs = await cp.kubectlJson<{ items: Csr[] }>(['get', 'csr']);
  const csr = csrs.items.find((c) => c.spec.username === `system:bootstrap:${cp.join.token.split('.')[0]}`);
  assert.ok(csr, JSON.stringify(csrs.items.map((c) => c.spec)));
  assert.equal(csr.spec.signerName, 'kubernetes.io/kube-apiserver-client-kubelet');
  const approved = csr.status?.conditions?.find((c) => c.type === 'Approved');
  assert.equal(approved?.status, 'True');
  assert.equal(approved?.reason, 'AutoApproved');
  assert.ok(csr.status?.certificate);
  t.diagnostic((await cp.kubectl(['get', 'csr'])).trim());

  // --- joining twice stops in preflight and writes nothing
  const before = joinFiles(w1.rootfs);
  const twice = await join(['--config', await config('join', tokenDiscovery()), ...common]);
  const line = oneErrorLine(twice, /^error execution phase preflight: .*preflight checks failed: FileAvailable--etc-kubernetes-kubelet.conf/);
  assert.match(twice.stdout, /\[ERROR FileAvailable--etc-kubernetes-kubelet.conf\]/);
  assert.deepEqual(joinFiles(w1.rootfs), before, 'nothing written by the second join');
  t.diagnostic(`join twice: ${line}`);

  // --- reset on the worker: the kubelet stopped, what join wrote removed, kubeadm's notes
  const kubeletPid = Number(readFileSync(path.join(w1.rootfs, 'run/kubelet.pid'), 'utf8'));
  const reset = await kubestrap(['reset', '--force', '--rootfs', w1.rootfs], 120_000, w1.launcher);
  assert.equal(reset.code, 0, `reset: ${reset.stdout}\n${reset.stderr}`);
  assert.match(reset.stdout, /The Node object "w1" is left in the cluster/);
  assert.match(reset.stdout, /remove \/etc\/cni\/net.d/);
  assert.throws(() => process.kill(kubeletPid, 0), 'the kubelet is gone');
  for (const f of ['etc/kubernetes/kubelet.conf', 'etc/kubernetes/pki/ca.crt', 'var/lib/kubelet/config.yaml', 'run/kubestrap-kubelet.pid']) {
    assert.ok(!existsSync(path.join(w1.rootfs, f)), `${f} removed by reset`);
  }
  t.diagnostic(reset.stdout.trim());

  // --- join --agent on w2, with the command init printed (flags, as printed) plus the node's name and rootfs
  const w2 = bed.node('w2');
  const sleep = String(7_000_000 + Math.floor(Math.random() * 900_000) * 10);
  await mkdir(path.join(w2.rootfs, 'etc/kubernetes/manifests'), { recursive: true });
  await writeFile(
    path.join(w2.rootfs, 'etc/kubernetes/manifests/web.yaml'),
    stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', namespace: 'default' },
      spec: { hostNetwork: true, containers: [{ name: 'web', image: 'busybox', command: ['sleep', sleep] }] },
    }),
  );
  const agentJoin = await kubestrap(['join', ...cp.join.args, '--agent', '--node-name', 'w2', '--rootfs', w2.rootfs], 300_000, w2.launcher);
  const agentLog = (): string =>
    existsSync(path.join(w2.rootfs, 'var/log/kubestrap-agent.log'))
      ? readFileSync(path.join(w2.rootfs, 'var/log/kubestrap-agent.log'), 'utf8').split('\n').slice(-30).join('\n')
      : '';
  assert.equal(agentJoin.code, 0, `join --agent exited ${agentJoin.code}:\n${agentJoin.stdout}\n${agentJoin.stderr}\nagent log:\n${agentLog()}`);
  t.diagnostic(`kubestrap join ${cp.join.args.join(' ')} --agent ...:\n${agentJoin.stdout.trim()}`);
  const w2Node = await waitNodeReady(cp, 'w2');
  assert.equal(w2Node.metadata?.labels?.['node.kubestrap.io/static-pods-only'], 'true');
  const mirror = await waitFor(
    'mirror pod web-w2',
    async () => (await cp.kubectl(['get', 'pod', 'web-w2', '-n', 'default']).catch(() => '')) || undefined,
    60_000,
    250,
  );
  t.diagnostic(mirror.trim());
  const agentReset = await kubestrap(['reset', '--force', '--rootfs', w2.rootfs], 120_000, w2.launcher);
  assert.equal(agentReset.code, 0, `reset w2: ${agentReset.stdout}\n${agentReset.stderr}`);
  assert.equal(sleepers(sleep), 0, "reset stopped the agent's pod");
  assert.ok(!existsSync(path.join(w2.rootfs, 'etc/kubernetes/kubelet.conf')));

  const notes = await cluster.stop();
  stopped = true;
  if (notes.length) t.diagnostic(`stop: ${notes.join('; ')}`);
  assert.deepEqual(testbedLeftovers(bed), []);
});

/** Live processes whose command line is `sleep <duration>`. */
function sleepers(duration: string): number {
  let n = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim().endsWith(`sleep ${duration}`)) n++;
    } catch {
      // gone
    }
  }
  return n;
}
