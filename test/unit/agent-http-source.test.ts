import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { memoryLogger } from '../../src/agent/log.js';
import { HttpSource } from '../../src/agent/sources/http.js';
import type { SourceSnapshot } from '../../src/agent/sources/types.js';

const pod = (name: string, image = 'img:1') => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { hostNetwork: true, containers: [{ name: 'c', image }] },
});

describe('agent http source', () => {
  let server: Server;
  let url: string;
  let reply: { status: number; body: string } = { status: 200, body: '' };
  let lastHeaders: IncomingHttpHeaders = {};
  let requests = 0;
  before(async () => {
    server = createServer((req, res) => {
      requests++;
      lastHeaders = req.headers;
      if (reply.status === 0) {
        req.socket.destroy(); // a network error, not an HTTP answer
        return;
      }
      res.writeHead(reply.status, { 'content-type': 'application/yaml' }).end(reply.body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/pods`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const make = () => {
    const snapshots: SourceSnapshot[] = [];
    const log = memoryLogger();
    const source = new HttpSource({
      url,
      headers: { 'X-Token': ['abc'], Accept: ['application/yaml', 'application/json'] },
      nodeName: 'n1',
      checkFrequencyMs: 3_600_000,
      logger: log,
    });
    return { snapshots, log, source, start: () => source.start((s) => snapshots.push(s)) };
  };

  it('reads a single Pod (JSON) and sends the headers', async () => {
    reply = { status: 200, body: JSON.stringify(pod('web')) };
    const t = make();
    await t.start();
    try {
      assert.deepEqual(
        t.snapshots.at(-1)!.pods.map((p) => p.name),
        ['web-n1'],
      );
      assert.equal(t.snapshots.at(-1)!.pods[0]!.pod.metadata!.annotations!['kubernetes.io/config.source'], 'http');
      assert.equal(lastHeaders['x-token'], 'abc');
      assert.equal(lastHeaders.accept, 'application/yaml, application/json');
    } finally {
      await t.source.stop();
    }
  });

  it('reads a PodList (YAML); unchanged body → no new snapshot; 500 and garbage keep the pods', async () => {
    reply = {
      status: 200,
      body: `apiVersion: v1\nkind: PodList\nitems:\n- ${JSON.stringify(pod('a'))}\n- ${JSON.stringify(pod('b'))}\n`,
    };
    const t = make();
    await t.start();
    try {
      const first = t.snapshots.at(-1)!;
      assert.deepEqual(
        first.pods.map((p) => p.name),
        ['a-n1', 'b-n1'],
      );
      const count = t.snapshots.length;
      await t.source.poll();
      assert.equal(t.snapshots.length, count, 'identical body: nothing emitted');

      reply = { status: 500, body: 'boom' };
      await t.source.poll();
      const failed = t.snapshots.at(-1)!;
      assert.deepEqual(
        failed.pods.map((p) => p.uid),
        first.pods.map((p) => p.uid),
        'pods kept',
      );
      assert.match(failed.errors[0]!.message, /HTTP 500/);
      assert.equal(failed.errors[0]!.origin, url);

      reply = { status: 200, body: 'kind: [' };
      await t.source.poll();
      const garbage = t.snapshots.at(-1)!;
      assert.deepEqual(
        garbage.pods.map((p) => p.uid),
        first.pods.map((p) => p.uid),
        'pods kept',
      );
      assert.match(garbage.errors[0]!.message, /not valid YAML/);

      // One bad item keeps its last good pod; the other item updates.
      reply = { status: 200, body: JSON.stringify({ apiVersion: 'v1', kind: 'PodList', items: [pod('a', ''), pod('b', 'img:2')] }) };
      await t.source.poll();
      const mixed = t.snapshots.at(-1)!;
      assert.equal(mixed.pods.find((p) => p.name === 'a-n1')!.uid, first.pods[0]!.uid);
      assert.equal(mixed.pods.find((p) => p.name === 'b-n1')!.pod.spec!.containers[0]!.image, 'img:2');
      assert.equal(mixed.errors.length, 1);
      assert.deepEqual(mixed.errors[0]!.keptPod, { namespace: 'default', name: 'a-n1' });
      assert.match(mixed.errors[0]!.message, /items\[0\].*spec\.containers\[0\]\.image/);
    } finally {
      await t.source.stop();
    }
  });

  it('a network error keeps the pods', async () => {
    reply = { status: 200, body: JSON.stringify(pod('web')) };
    const t = make();
    await t.start();
    try {
      const uid = t.snapshots.at(-1)!.pods[0]!.uid;
      reply = { status: 0, body: '' };
      await t.source.poll();
      const s = t.snapshots.at(-1)!;
      assert.deepEqual(
        s.pods.map((p) => p.uid),
        [uid],
      );
      assert.equal(s.errors.length, 1);
      assert.ok(s.errors[0]!.message.startsWith(url), s.errors[0]!.message);
      reply = { status: 200, body: JSON.stringify(pod('web')) };
      await t.source.poll();
      assert.deepEqual(t.snapshots.at(-1)!.errors, [], 'recovered: error cleared');
      assert.ok(requests > 0);
    } finally {
      await t.source.stop();
    }
  });
});
