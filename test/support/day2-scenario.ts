/**
 * Day-2 checks on a cluster `kubestrap init` brought up, shared by the process and cri e2e tests:
 *  - `certs renew all`: new certificates (openssl), exactly etcd, kube-apiserver, the
 *    controller-manager and the scheduler restarted (in that order), an extra static pod that
 *    mounts no renewed file untouched, the API back, admin.conf working with its new certificate;
 *    `certs renew front-proxy-client` restarts only kube-apiserver;
 *  - `kubectl logs` through the API server to the agent's kubelet API: --tail, -f, --previous;
 *    401 without a client certificate and with one of another CA; 403 for a user without
 *    permission (at the agent and through the API server's node proxy); exec answered at once;
 *  - bad input: an unknown certificate name, a missing CA key, kubeconfig user without --client-name.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { parseKubeconfig } from '../../src/kubeconfig/load.js';
import { probeOnce } from '../../src/net/http-probe.js';
import { components } from './components.js';
import { APISERVER, CONTROL_PLANE, httpsGet, kubectl, kubectlJson, kubestrap } from './init-e2e.js';
import { waitFor } from './proc.js';

const exec = promisify(execFile);

export interface Day2Input {
  rootfs: string;
  node: string;
  /** The running container of a pod's container (by container name), as the runtime sees it. */
  container(name: string): Promise<{ id: string } | undefined>;
  /** The extra static pod's container: image, command (it mounts nothing). */
  extra: { image: string; command?: string[] };
}

interface CertFacts {
  notAfter: Date;
  serial: string;
}

async function openssl(file: string): Promise<CertFacts> {
  const { stdout } = await exec('openssl', ['x509', '-in', file, '-noout', '-enddate', '-serial']);
  return { notAfter: new Date(/notAfter=(.*)/.exec(stdout)![1]!), serial: /serial=(\S+)/.exec(stdout)![1]! };
}

/** GET on the agent's kubelet API with an optional client certificate or bearer token. */
function kubeletGet(urlPath: string, cred?: { cert: string; key: string }, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = token ? { authorization: `Bearer ${token}` } : {};
    const req = https.get(
      `https://127.0.0.1:10250${urlPath}`,
      { rejectUnauthorized: false, timeout: 10_000, agent: false, headers, ...(cred ?? {}) },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

const kubeletGetWithToken = (urlPath: string, token: string): Promise<{ status: number; body: string }> => kubeletGet(urlPath, undefined, token);

/** Lines of the log file of an attempt (CRI format → messages). */
function logMessages(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/^\S+ (stdout|stderr) [FP] /, ''));
}

async function agentPod(rootfs: string, name: string): Promise<V1Pod | undefined> {
  const ps = await kubestrap(['ps', '--rootfs', rootfs, '-o', 'json']);
  return (JSON.parse(ps.stdout) as { items: V1Pod[] }).items.find((p) => p.metadata?.name === name);
}

async function ids(input: Day2Input, names: readonly string[]): Promise<Record<string, string | undefined>> {
  const out: Record<string, string | undefined> = {};
  for (const n of names) out[n] = (await input.container(n))?.id;
  return out;
}

/** The components `certs renew` says it restarted, in order (pod names without the node suffix). */
const restartedOrder = (stdout: string, node: string): string[] =>
  [...stdout.matchAll(/^\[restart\] Restarted kube-system\/(\S+) /gm)].map((m) => m[1]!.replace(new RegExp(`-${node}$`), ''));

export async function day2Scenario(t: TestContext, input: Day2Input): Promise<void> {
  const { rootfs, node } = input;
  const k8s = path.join(rootfs, 'etc/kubernetes');
  const pki = path.join(k8s, 'pki');
  const admin = path.join(k8s, 'admin.conf');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'kubestrap-day2-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));

  // --- an extra static pod that mounts nothing renewable
  const extraPod: V1Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'extra', namespace: 'kube-system' },
    spec: { hostNetwork: true, containers: [{ name: 'extra', image: input.extra.image, ...(input.extra.command ? { command: input.extra.command } : {}) }] },
  };
  writeFileSync(path.join(k8s, 'manifests/extra.yaml'), stringify(extraPod));
  await waitFor('the extra pod running', async () => (await input.container('extra')) ?? undefined, 60_000, 250);

  // --- certs renew all
  const files = {
    apiserver: 'apiserver.crt',
    etcdServer: 'etcd/server.crt',
    frontProxy: 'front-proxy-client.crt',
    kubeletClient: 'apiserver-kubelet-client.crt',
  };
  const before: Record<string, CertFacts> = {};
  for (const [k, f] of Object.entries(files)) before[k] = await openssl(path.join(pki, f));
  const adminBefore = await parseKubeconfig(readFileSync(admin, 'utf8'), admin);
  const idsBefore = await ids(input, [...CONTROL_PLANE, 'extra']);
  await new Promise((r) => setTimeout(r, 1100)); // NotAfter has second precision
  let t0 = performance.now();
  const renew = await kubestrap(['certs', 'renew', 'all', '--rootfs', rootfs], 600_000);
  const renewMs = Math.round(performance.now() - t0);
  assert.equal(renew.code, 0, `certs renew all:\n${renew.stderr}\n${renew.stdout}`);
  t.diagnostic(`certs renew all (${renewMs} ms):\n${renew.stdout.trim()}`);
  assert.equal((renew.stdout.match(/ renewed$/gm) ?? []).length, 11, 'eleven certificates renewed');
  assert.deepEqual(restartedOrder(renew.stdout, node), ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'], 'exactly the four, etcd first');
  for (const [k, f] of Object.entries(files)) {
    const after = await openssl(path.join(pki, f));
    assert.ok(after.notAfter > before[k]!.notAfter, `${f}: new expiry ${after.notAfter.toISOString()} after ${before[k]!.notAfter.toISOString()}`);
    assert.notEqual(after.serial, before[k]!.serial, `${f}: new serial`);
  }
  const caFile = (f: string): string => path.join(pki, f.startsWith('etcd/') ? 'etcd/ca.crt' : f.startsWith('front-proxy') ? 'front-proxy-ca.crt' : 'ca.crt');
  for (const f of Object.values(files)) await exec('openssl', ['verify', '-CAfile', caFile(f), path.join(pki, f)]);
  t.diagnostic(
    `openssl: apiserver.crt notAfter ${before.apiserver!.notAfter.toISOString()} → ${(await openssl(path.join(pki, files.apiserver))).notAfter.toISOString()}`,
  );
  const idsAfter = await ids(input, [...CONTROL_PLANE, 'extra']);
  for (const c of CONTROL_PLANE) assert.notEqual(idsAfter[c], idsBefore[c], `${c} restarted`);
  assert.equal(idsAfter.extra, idsBefore.extra, 'the extra pod keeps its container');
  assert.ok(await probeOnce(`${APISERVER}/readyz`), 'the API is back');
  const adminAfter = await parseKubeconfig(readFileSync(admin, 'utf8'), admin);
  assert.notEqual(adminAfter.clientCertPem, adminBefore.clientCertPem, 'admin.conf has a new certificate');
  const nodes = await kubectl(admin, ['get', 'nodes', '--no-headers']);
  assert.match(nodes, new RegExp(`^${node}\\s+Ready`, 'm'), 'admin.conf works with its new certificate');
  t.diagnostic(`container ids before/after: ${JSON.stringify(idsBefore)} → ${JSON.stringify(idsAfter)}`);

  // --- the agent reports the new expiry in /metrics
  const metrics = (await exec('curl', ['-s', '--unix-socket', path.join(rootfs, 'var/lib/kubestrap/agent.sock'), 'http://agent/metrics'])).stdout;
  const line = metrics.split('\n').find((l) => l.startsWith('kubestrap_certificate_expiration_seconds{file="/etc/kubernetes/pki/apiserver.crt"}'));
  assert.ok(line, 'expiry metric for apiserver.crt');
  assert.equal(Number(line.split(' ')[1]), (await openssl(path.join(pki, files.apiserver))).notAfter.getTime() / 1000);

  // --- front-proxy-client: only kube-apiserver
  const idsFp = await ids(input, [...CONTROL_PLANE, 'extra']);
  t0 = performance.now();
  const fp = await kubestrap(['certs', 'renew', 'front-proxy-client', '--rootfs', rootfs], 600_000);
  assert.equal(fp.code, 0, fp.stderr);
  assert.deepEqual(restartedOrder(fp.stdout, node), ['kube-apiserver']);
  const idsFp2 = await ids(input, [...CONTROL_PLANE, 'extra']);
  assert.notEqual(idsFp2['kube-apiserver'], idsFp['kube-apiserver'], 'kube-apiserver restarted');
  assert.equal(idsFp2.extra, idsFp.extra, 'the extra pod untouched');
  assert.equal(idsFp2.etcd, idsFp.etcd, 'etcd untouched');
  // the controller-manager and scheduler exit by themselves when they cannot renew their leader lease
  // while kube-apiserver restarts (>10 s); the agent restarts them then, but did not stop them
  for (const c of ['kube-controller-manager', 'kube-scheduler'] as const) {
    if (idsFp2[c] === idsFp[c]) continue;
    const last = (await agentPod(rootfs, `${c}-${node}`))?.status?.containerStatuses?.[0]?.lastState?.terminated;
    assert.doesNotMatch(last?.message ?? '', /restarted by the kubestrap agent/, `${c} was not restarted by the agent`);
    t.diagnostic(`${c} exited by itself while kube-apiserver restarted (exit ${last?.exitCode}, ${last?.reason})`);
  }
  t.diagnostic(`certs renew front-proxy-client (${Math.round(performance.now() - t0)} ms):\n${fp.stdout.trim()}`);

  // --- kubectl logs through the API server
  await waitFor('kube-apiserver ready', async () => ((await probeOnce(`${APISERVER}/readyz`)) ? true : undefined), 60_000, 250);
  const apiPod = `kube-apiserver-${node}`;
  const nodeObj = await kubectlJson<V1Node>(admin, ['get', 'node', node]);
  assert.equal(nodeObj.status?.daemonEndpoints?.kubeletEndpoint?.Port, 10250);
  const tail = await waitFor(
    'kubectl logs --tail=5',
    async () => kubectl(admin, ['logs', '-n', 'kube-system', apiPod, '--tail=5']).catch(() => undefined),
    60_000,
    500,
  );
  assert.equal(tail.trimEnd().split('\n').length, 5, tail);
  t.diagnostic(`kubectl logs ${apiPod} --tail=5:\n${tail.trimEnd()}`);

  // --previous: the apiserver container before the last restart
  const logDir = path.join(
    rootfs,
    'var/log/pods',
    readdirSync(path.join(rootfs, 'var/log/pods')).find((d) => d.startsWith(`kube-system_${apiPod}_`))!,
    'kube-apiserver',
  );
  const attempts = readdirSync(logDir)
    .map((f) => Number(f.replace('.log', '')))
    .sort((a, b) => b - a);
  const previous = await kubectl(admin, ['logs', '-n', 'kube-system', apiPod, '--previous', '--tail=3']);
  assert.deepEqual(previous.trimEnd().split('\n'), logMessages(path.join(logDir, `${attempts[1]}.log`)).slice(-3), "the previous container's last lines");
  t.diagnostic(`kubectl logs --previous (attempt ${attempts[1]} of ${attempts.join(',')}):\n${previous.trimEnd()}`);

  // -f: the first lines arrive, the stream stays open, more arrive when etcd restarts under it
  const follow = spawn(components().binaries.kubectl.path, ['--kubeconfig', admin, 'logs', '-f', '-n', 'kube-system', apiPod, '--tail=2'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let followed = '';
  follow.stdout.on('data', (c: Buffer) => (followed += c.toString()));
  try {
    await waitFor('two lines from kubectl logs -f', async () => (followed.split('\n').length > 2 ? true : undefined), 30_000, 100);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(follow.exitCode, null, 'kubectl logs -f keeps following');
    const etcd = await kubestrap(['certs', 'renew', 'etcd-server', '--rootfs', rootfs], 600_000);
    assert.equal(etcd.code, 0, etcd.stderr);
    assert.deepEqual(restartedOrder(etcd.stdout, node), ['etcd'], 'etcd-server: only etcd');
    // kube-apiserver logs its lost etcd connection and every request with an invalid token
    await waitFor(
      'new lines in the followed log',
      async () => {
        if (followed.split('\n').length > 4) return true;
        await httpsGet(`${APISERVER}/api`, 'abcdef.0123456789abcdef').catch(() => undefined);
        return undefined;
      },
      60_000,
      500,
    );
    t.diagnostic(`kubectl logs -f, stopped after ${followed.split('\n').length - 1} lines; first: ${followed.split('\n')[0]}`);
  } finally {
    follow.kill('SIGTERM');
  }

  // --- authentication and authorization at the agent's kubelet API
  const logsPath = `/containerLogs/kube-system/${apiPod}/kube-apiserver?tailLines=1`;
  assert.equal((await kubeletGet(logsPath)).status, 401, 'no client certificate');
  await exec('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/O=system:masters/CN=mallory',
    '-keyout',
    path.join(tmp, 'other.key'),
    '-out',
    path.join(tmp, 'other.crt'),
  ]);
  const other = { cert: readFileSync(path.join(tmp, 'other.crt'), 'utf8'), key: readFileSync(path.join(tmp, 'other.key'), 'utf8') };
  const otherAnswer = await kubeletGet(logsPath, other);
  assert.deepEqual([otherAnswer.status, otherAnswer.body], [401, 'Unauthorized'], 'a certificate of another CA');
  const kubeletClient = {
    cert: readFileSync(path.join(pki, 'apiserver-kubelet-client.crt'), 'utf8'),
    key: readFileSync(path.join(pki, 'apiserver-kubelet-client.key'), 'utf8'),
  };
  assert.equal((await kubeletGet(logsPath, kubeletClient)).status, 200, "the API server's client certificate");
  const alice = await kubestrap(['kubeconfig', 'user', '--client-name', 'alice', '--rootfs', rootfs]);
  assert.equal(alice.code, 0, alice.stderr);
  const aliceConf = path.join(tmp, 'alice.conf');
  writeFileSync(aliceConf, alice.stdout);
  const aliceKc = await parseKubeconfig(alice.stdout, aliceConf);
  const denied = await kubeletGet(logsPath, { cert: aliceKc.clientCertPem!, key: aliceKc.clientKeyPem! });
  assert.deepEqual([denied.status, denied.body], [403, 'Forbidden (user=alice, verb=get, resource=nodes, subresource(s)=[proxy])\n']);
  const viaApi = await kubectl(aliceConf, ['get', '--raw', `/api/v1/nodes/${node}/proxy${logsPath}`]).then(
    () => 'allowed',
    (err: { stderr?: string }) => err.stderr ?? '',
  );
  assert.match(viaApi, /Forbidden|forbidden/, 'alice through the node proxy');
  const viaLogs = await kubectl(aliceConf, ['logs', '-n', 'kube-system', apiPod, '--tail=1']).then(
    () => 'allowed',
    (err: { stderr?: string }) => err.stderr ?? '',
  );
  assert.match(viaLogs, /forbidden/i, 'alice: kubectl logs');
  t.diagnostic(`401 without a certificate and with another CA's; 403 at the agent: ${denied.body.trim()}; through the API: ${viaApi.trim().split('\n')[0]}`);
  // a bearer token is authenticated through a TokenReview (the kubelet's webhook authentication)
  const saToken = (
    await waitFor(
      'a token of kube-system:default',
      async () => kubectl(admin, ['-n', 'kube-system', 'create', 'token', 'default']).catch(() => undefined),
      60_000,
      1000,
    )
  ).trim();
  const byToken = await kubeletGetWithToken('/pods', saToken);
  assert.deepEqual(
    [byToken.status, byToken.body],
    [403, 'Forbidden (user=system:serviceaccount:kube-system:default, verb=get, resource=nodes, subresource(s)=[pods proxy])\n'],
  );
  const badToken = await kubeletGetWithToken('/pods', 'abcdef.0123456789abcdef');
  assert.equal(badToken.status, 401, 'an invalid bearer token');

  // --- exec answers at once
  t0 = performance.now();
  const execOut = await kubectl(admin, ['exec', '-n', 'kube-system', apiPod, '--', 'ls']).then(
    () => 'ran',
    (err: { stderr?: string }) => err.stderr ?? '',
  );
  const execMs = Math.round(performance.now() - t0);
  assert.match(execOut, /not supported by the kubestrap agent/, execOut);
  assert.ok(execMs < 15_000, `exec answered in ${execMs} ms`);
  t.diagnostic(`kubectl exec (${execMs} ms): ${execOut.trim().split('\n')[0]}`);

  // --- bad input
  const bad = await kubestrap(['certs', 'renew', 'nope', '--rootfs', rootfs]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^error: unknown certificate "nope" \(valid names: admin\.conf, apiserver, .* all\)\n$/);
  const copy = mkdtempSync(path.join(os.tmpdir(), 'kubestrap-day2-ext-'));
  try {
    cpSync(k8s, path.join(copy, 'etc/kubernetes'), { recursive: true });
    unlinkSync(path.join(copy, 'etc/kubernetes/pki/front-proxy-ca.key'));
    const ext = await kubestrap(['certs', 'renew', 'front-proxy-client', '--rootfs', copy]);
    assert.equal(ext.code, 0, ext.stderr);
    assert.match(ext.stdout, /^Detected external front-proxy-ca, .*front-proxy-ca\.key is missing, so renew .*front-proxy-client\.crt/m);
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
  const noName = await kubestrap(['kubeconfig', 'user', '--rootfs', rootfs]);
  assert.equal(noName.code, 1);
  assert.equal(noName.stderr.trim().split('\n').length, 1, noName.stderr);

  // --- ps: the restarts, no expiry warning, json
  const ps = await kubestrap(['ps', '--rootfs', rootfs]);
  assert.equal(ps.code, 0, ps.stderr);
  assert.doesNotMatch(ps.stdout, /^warning:/m);
  const psJson = JSON.parse((await kubestrap(['ps', '--rootfs', rootfs, '-o', 'json'])).stdout) as { items: V1Pod[] };
  assert.ok(psJson.items.some((p) => p.metadata?.name === `extra-${node}`));
  t.diagnostic(`kubestrap ps:\n${ps.stdout.trim()}`);

  // a certificate inside 30 days of its expiry: admin.conf renewed for 10 days (no pod uses it)
  const shortConfig = path.join(tmp, 'short.yaml');
  writeFileSync(shortConfig, 'apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\ncertificateValidityPeriod: 240h\n');
  const short = await kubestrap(['certs', 'renew', 'admin.conf', '--config', shortConfig, '--rootfs', rootfs]);
  assert.equal(short.code, 0, short.stderr);
  assert.match(short.stdout, /^\[restart\] No static pod uses the renewed files; nothing restarted$/m);
  const warned = await kubestrap(['ps', '--rootfs', rootfs]);
  assert.match(
    warned.stdout,
    /^warning: certificate \/etc\/kubernetes\/admin\.conf expires in (9|10)d \(.*\): run "kubestrap certs renew all"$/m,
    warned.stdout,
  );
  t.diagnostic(
    `after renewing admin.conf for 240h: ${warned.stdout
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('warning:'))
      .join('; ')}`,
  );
  unlinkSync(path.join(k8s, 'manifests/extra.yaml'));
}
