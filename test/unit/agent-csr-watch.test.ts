/**
 * The CSR round trip against a fake API server (plain HTTP, newline-delimited watch events): the
 * wait ends with the issued certificate, after a watch that closed and was reopened too; a
 * deletion, a replaced request and the timeout (pending, or approved but never signed) each end
 * in one line naming the request and what to do; a request of the same name is reused only when
 * it carries our key and signer.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { V1CertificateSigningRequest } from '@kubernetes/client-node';
import { kubeClientFromString, type KubeClient } from '../../src/kube/client.js';
import { generateKeyPair } from '../../src/pki/keys.js';
import { createCsr, CsrError, waitForCertificate } from '../../src/agent/tls/csr-api.js';
import { nodeClientUsages, nodeCsrObject, nodeCsrPem } from '../../src/agent/tls/node-csr.js';

type Event = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: V1CertificateSigningRequest };
/** Per watch request: the events to send, and whether to close the stream after them. */
let watches: { events: Event[]; close: boolean }[] = [];
let watchCount = 0;
let existing: V1CertificateSigningRequest | undefined;
let server: http.Server;
let client: KubeClient;

const csr = (status?: V1CertificateSigningRequest['status'], uid = 'u1'): V1CertificateSigningRequest => ({
  metadata: { name: 'node-csr-x', uid },
  spec: { request: '', signerName: 'kubernetes.io/kube-apiserver-client-kubelet' },
  status,
});
const approved = { type: 'Approved', status: 'True', reason: 'AutoApproved', message: 'ok' };

before(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    if (req.method === 'POST') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const obj = JSON.parse(body) as V1CertificateSigningRequest;
        if (existing) {
          res.writeHead(409, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'AlreadyExists', code: 409, message: 'exists' }));
          return;
        }
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ...obj, metadata: { ...obj.metadata, name: obj.metadata?.name ?? 'csr-abcde', uid: 'u1' } }));
      });
      return;
    }
    if (url.searchParams.get('watch') === 'true') {
      const w = watches[Math.min(watchCount++, watches.length - 1)]!;
      res.writeHead(200, { 'content-type': 'application/json' });
      for (const e of w.events) res.write(`${JSON.stringify(e)}\n`);
      if (w.close) res.end();
      else req.on('close', () => res.end());
      return;
    }
    if (url.pathname.startsWith('/apis/certificates.k8s.io/v1/certificatesigningrequests/')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(existing));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  client = await kubeClientFromString(
    [
      'apiVersion: v1',
      'kind: Config',
      'current-context: c',
      'contexts: [{name: c, context: {cluster: k, user: u}}]',
      `clusters: [{name: k, cluster: {server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]`,
      'users: [{name: u, user: {token: abcdef.0123456789abcdef}}]',
    ].join('\n'),
  );
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const wait = (timeoutMs = 2000): Promise<string> => waitForCertificate(client, { name: 'node-csr-x', uid: 'u1' }, { timeoutMs });
const rejectsWith = async (p: Promise<unknown>, re: RegExp): Promise<void> => {
  await assert.rejects(p, (err: unknown) => err instanceof CsrError && re.test(err.message));
};

describe('waiting for the certificate (watch)', () => {
  it('takes the certificate once approved and issued', async () => {
    watchCount = 0;
    const issued = csr({ conditions: [approved], certificate: Buffer.from('PEM\n').toString('base64') });
    watches = [
      {
        events: [
          { type: 'ADDED', object: csr() },
          { type: 'MODIFIED', object: issued },
        ],
        close: false,
      },
    ];
    assert.equal(await wait(), 'PEM\n');
  });

  it('opens the watch again when it closes before the answer', async () => {
    watchCount = 0;
    const issued = csr({ conditions: [approved], certificate: Buffer.from('PEM2').toString('base64') });
    watches = [
      { events: [{ type: 'ADDED', object: csr() }], close: true },
      { events: [{ type: 'ADDED', object: issued }], close: false },
    ];
    assert.equal(await wait(), 'PEM2');
    assert.equal(watchCount, 2);
  });

  it('a deleted or replaced request is one line', async () => {
    watchCount = 0;
    watches = [{ events: [{ type: 'DELETED', object: csr() }], close: false }];
    await rejectsWith(wait(), /^certificate signing request node-csr-x was deleted before a certificate was issued$/);
    watchCount = 0;
    watches = [{ events: [{ type: 'ADDED', object: csr(undefined, 'u2') }], close: false }];
    await rejectsWith(wait(), /was replaced by another one \(its UID changed\)/);
  });

  it('times out saying whether the request was approved', async () => {
    watchCount = 0;
    watches = [{ events: [{ type: 'ADDED', object: csr() }], close: false }];
    await rejectsWith(
      wait(300),
      /^certificate signing request node-csr-x is not approved: approve it \(kubectl certificate approve node-csr-x\) or check .* \(waited 0 s\)$/,
    );
    watchCount = 0;
    watches = [{ events: [{ type: 'ADDED', object: csr({ conditions: [approved] }) }], close: false }];
    await rejectsWith(wait(300), /is approved but no certificate was issued: is the controller-manager running with --cluster-signing-cert-file\?/);
  });
});

describe('creating the request', () => {
  it('reuses a request of the same name that carries our key and signer, and refuses another', async () => {
    const { privateKey } = await generateKeyPair('ECDSA-P256');
    const body = nodeCsrObject(await nodeCsrPem('w2', privateKey), nodeClientUsages(privateKey), 'node-csr-x');
    existing = undefined;
    assert.deepEqual(await createCsr(client, body, privateKey), { name: 'node-csr-x', uid: 'u1' });
    // the same key, a new signature (ECDSA signatures differ each time): ours
    existing = {
      ...nodeCsrObject(await nodeCsrPem('w2', privateKey), ['digital signature', 'client auth'], 'node-csr-x'),
      metadata: { name: 'node-csr-x', uid: 'u9' },
    };
    assert.deepEqual(await createCsr(client, body, privateKey), { name: 'node-csr-x', uid: 'u9' });
    const other = (await generateKeyPair('ECDSA-P256')).privateKey;
    existing = { ...nodeCsrObject(await nodeCsrPem('w2', other), ['client auth'], 'node-csr-x'), metadata: { name: 'node-csr-x', uid: 'u9' } };
    await rejectsWith(createCsr(client, body, privateKey), /^certificate signing request node-csr-x exists and is not ours: it is for another key$/);
    existing = { ...existing, spec: { ...existing.spec, signerName: 'example.com/other' } };
    await rejectsWith(createCsr(client, body, privateKey), /its signer is example.com\/other, not kubernetes.io\/kube-apiserver-client-kubelet/);
    existing = undefined;
  });
});
