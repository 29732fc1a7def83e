/** The node-local API balancer against local TCP servers: round-robin, health, failover, drain. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { ApiBalancer, upstreamsOfSlices, type Upstream } from '../../src/lb/balancer.js';

interface Backend {
  upstream: Upstream;
  sockets: Set<net.Socket>;
  close(): Promise<void>;
}

/** A server that greets every connection with its name, then echoes. */
async function backend(name: string): Promise<Backend> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.write(`${name}\n`);
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    upstream: { host: '127.0.0.1', port },
    sockets,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A port nothing listens on. */
async function closedPort(): Promise<Upstream> {
  const b = await backend('gone');
  await b.close();
  return b.upstream;
}

/** Connects through the balancer; resolves the greeting (first line) or 'closed'. */
function greet(port: number, keep?: net.Socket[]): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let data = '';
    s.on('data', (d) => {
      data += String(d);
      if (data.includes('\n')) {
        if (keep) keep.push(s);
        else s.destroy();
        resolve(data.split('\n')[0]!);
      }
    });
    s.on('close', () => resolve('closed'));
    s.on('error', () => undefined);
  });
}

async function withBalancer(
  seeds: Upstream[],
  fn: (lb: ApiBalancer, lines: string[]) => Promise<void>,
  options: { drainTimeoutMs?: number } = {},
): Promise<void> {
  const lines: string[] = [];
  const lb = new ApiBalancer({ listen: { host: '127.0.0.1', port: 0 }, seeds, healthIntervalMs: 200, log: (l) => lines.push(l), ...options });
  await lb.start();
  try {
    await fn(lb, lines);
  } finally {
    await lb.stop();
  }
}

test('round-robin over the healthy upstreams; a dead one is checked out and never chosen', async () => {
  const [a, b, c] = await Promise.all([backend('a'), backend('b'), backend('c')]);
  const dead = await closedPort();
  try {
    await withBalancer([a!.upstream, b!.upstream, dead, c!.upstream], async (lb, lines) => {
      const got: string[] = [];
      for (let i = 0; i < 6; i++) got.push(await greet(lb.port()));
      assert.deepEqual([...got].sort(), ['a', 'a', 'b', 'b', 'c', 'c']);
      assert.deepEqual(
        lb.status().map((s) => s.healthy),
        [true, true, false, true],
      );
      assert.ok(lines.includes(`[lb] upstream 127.0.0.1:${dead.port} is unhealthy`), lines.join('\n'));
    });
  } finally {
    await Promise.all([a!.close(), b!.close(), c!.close()]);
  }
});

test('an upstream that dies between checks: the connection fails over to the next, the client sees nothing', async () => {
  const [a, b] = await Promise.all([backend('a'), backend('b')]);
  try {
    await withBalancer([a!.upstream, b!.upstream], async (lb) => {
      await a!.close();
      const got: string[] = [];
      for (let i = 0; i < 4; i++) got.push(await greet(lb.port()));
      assert.deepEqual(got, ['b', 'b', 'b', 'b']);
      assert.equal(lb.status()[0]!.healthy, false);
    });
  } finally {
    await b!.close();
  }
});

test('nothing reachable: the client connection is closed, with a log line', async () => {
  await withBalancer([await closedPort()], async (lb, lines) => {
    assert.equal(await greet(lb.port()), 'closed');
    assert.match(lines.at(-1)!, /^\[lb\] no API server reachable \(1 tried\)/);
  });
});

test('discovery adds upstreams; a removed one drains: no new connections, open ones closed after the drain timeout', async () => {
  const [seed, found] = await Promise.all([backend('seed'), backend('found')]);
  const kept: net.Socket[] = [];
  try {
    await withBalancer(
      [seed.upstream],
      async (lb, lines) => {
        lb.setDiscovered([found.upstream]);
        while (!lb.status().every((st) => st.healthy)) await new Promise((r) => setTimeout(r, 10));
        const got = new Set<string>();
        for (let i = 0; i < 4; i++) got.add(await greet(lb.port(), kept));
        assert.deepEqual([...got].sort(), ['found', 'seed']);
        assert.equal(found.sockets.size, 2);
        lb.setDiscovered([]);
        assert.ok(lines.includes(`[lb] upstream 127.0.0.1:${found.upstream.port} removed: draining 2 connection(s) for up to 0.3s`), lines.join('\n'));
        assert.deepEqual(
          lb.status().map((s) => [s.address.endsWith(`:${found.upstream.port}`) ? 'found' : 'seed', s.draining]),
          [
            ['seed', false],
            ['found', true],
          ],
        );
        for (let i = 0; i < 3; i++) assert.equal(await greet(lb.port()), 'seed');
        // the drained connections still work until the timeout
        const echo = await new Promise<string>((r) => {
          kept.find((s) => found.sockets.size > 0 && !s.destroyed)!.once('data', (d) => r(String(d)));
          for (const s of kept) s.write('ping\n');
        });
        assert.equal(echo, 'ping\n');
        await new Promise((r) => setTimeout(r, 400));
        assert.equal(found.sockets.size, 0, 'closed after the drain timeout');
        assert.equal(lb.status().length, 1);
      },
      { drainTimeoutMs: 300 },
    );
  } finally {
    for (const s of kept) s.destroy();
    await Promise.all([seed.close(), found.close()]);
  }
});

test('the kubernetes EndpointSlice: ready addresses on the https port', () => {
  assert.deepEqual(
    upstreamsOfSlices([
      {
        ports: [{ name: 'https', port: 6443 }],
        endpoints: [
          { addresses: ['10.0.0.1'] },
          { addresses: ['10.0.0.2'], conditions: { ready: true } },
          { addresses: ['10.0.0.3'], conditions: { ready: false } },
          { addresses: ['fd00::4'], conditions: { ready: true, terminating: true } },
        ],
      },
      { ports: null, endpoints: [{ addresses: ['10.0.0.9'] }] },
    ]),
    [
      { host: '10.0.0.1', port: 6443 },
      { host: '10.0.0.2', port: 6443 },
    ],
  );
});
