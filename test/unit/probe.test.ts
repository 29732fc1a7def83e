import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { V1Container } from '@kubernetes/client-node';
import { execa } from 'execa';
import { PROBE_USER_AGENT, resolvePort, runProbe, type ProbeTarget } from '../../src/agent/probes/check.js';

/** A throwaway self-signed certificate for the HTTPS probe server (probes must not verify it). */
async function selfSigned(): Promise<{ key: string; cert: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kubestrap-probe-'));
  try {
    const key = path.join(dir, 'k.pem');
    const cert = path.join(dir, 'c.pem');
    await execa('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      '/CN=probe-test',
      '-days',
      '1',
      '-keyout',
      key,
      '-out',
      cert,
    ]);
    return { key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

let httpServer: http.Server;
let httpsServer: https.Server;
let tcpServer: net.Server;
let httpPort = 0;
let httpsPort = 0;
let tcpPort = 0;
const seen: http.IncomingHttpHeaders[] = [];

function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  seen.push(req.headers);
  const code = Number(req.url?.slice(1).split('?')[0]) || 200;
  if (req.url === '/slow') return void setTimeout(() => res.end('late'), 2000);
  res.writeHead(code, code >= 300 && code < 400 ? { location: '/200' } : {});
  res.end(code >= 400 ? 'broken' : 'ok');
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

before(async () => {
  httpServer = http.createServer(handler);
  httpsServer = https.createServer(await selfSigned(), handler);
  tcpServer = net.createServer((s) => s.destroy());
  [httpPort, httpsPort, tcpPort] = await Promise.all([listen(httpServer), listen(httpsServer), listen(tcpServer)]);
});

after(() => {
  httpServer.closeAllConnections();
  httpsServer.closeAllConnections();
  for (const s of [httpServer, httpsServer, tcpServer]) s.close();
});

function target(container: Partial<V1Container> = {}): ProbeTarget {
  return {
    container: { name: 'c', ...container },
    host: '127.0.0.1',
    exec: async (cmd) => ({ exitCode: cmd[0] === 'true' ? 0 : 1, output: cmd[0] === 'true' ? '' : 'nope' }),
  };
}

describe('probes', () => {
  it('httpGet: 200-399 succeed, others fail with the status code; kube-probe headers and custom headers sent', async () => {
    assert.equal((await runProbe({ httpGet: { path: '/200', port: httpPort } }, target())).ok, true);
    assert.equal((await runProbe({ httpGet: { path: '/302', port: httpPort } }, target())).ok, true);
    const bad = await runProbe({ httpGet: { path: '/500', port: httpPort, httpHeaders: [{ name: 'X-Probe', value: 'yes' }] } }, target());
    assert.equal(bad.ok, false);
    assert.match(bad.message, /statuscode: 500/);
    const last = seen[seen.length - 1]!;
    assert.equal(last['user-agent'], PROBE_USER_AGENT);
    assert.equal(last['accept'], '*/*');
    assert.equal(last['x-probe'], 'yes');
  });

  it('httpGet over HTTPS does not verify the certificate', async () => {
    const r = await runProbe({ httpGet: { path: '/livez', port: httpsPort, scheme: 'HTTPS' } }, target());
    assert.deepEqual(r, { ok: true, message: '' });
  });

  it('resolves named ports from the container ports', async () => {
    const t = target({ ports: [{ name: 'probe-port', containerPort: httpPort }] });
    assert.equal(resolvePort('probe-port', t.container), httpPort);
    assert.equal((await runProbe({ httpGet: { path: '/', port: 'probe-port' as unknown as number } }, t)).ok, true);
    const missing = await runProbe({ httpGet: { path: '/', port: 'nope' as unknown as number } }, t);
    assert.match(missing.message, /not a container port/);
  });

  it('times out after timeoutSeconds', async () => {
    const r = await runProbe({ httpGet: { path: '/slow', port: httpPort }, timeoutSeconds: 1 }, target());
    assert.equal(r.ok, false);
    assert.match(r.message, /deadline exceeded/);
  });

  it('tcpSocket succeeds on a listening port and fails on a closed one', async () => {
    assert.equal((await runProbe({ tcpSocket: { port: tcpPort } }, target())).ok, true);
    const closed = net.createServer();
    const port = await listen(closed);
    await new Promise((r) => closed.close(r));
    const r = await runProbe({ tcpSocket: { port } }, target());
    assert.equal(r.ok, false);
    assert.match(r.message, /ECONNREFUSED/);
  });

  it('exec: exit 0 is success', async () => {
    assert.equal((await runProbe({ exec: { command: ['true'] } }, target())).ok, true);
    const r = await runProbe({ exec: { command: ['false'] } }, target());
    assert.equal(r.ok, false);
    assert.match(r.message, /exited with 1: nope/);
  });
});
