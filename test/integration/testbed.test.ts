/**
 * The multi-node test bed (test/support/testbed.ts): three nodes reach each other over the bridge
 * (TCP, in both directions, node to node), each runs its own containerd inside its namespace and
 * answers CRI Version, and stop() leaves no namespace, link, mount, process, cgroup or dir behind;
 * a run killed with SIGKILL is swept by the next one.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { componentsReady } from '../support/components.js';
import { startTestbed, sweepTestbeds, testbedLeftovers as leftovers, type Testbed } from '../support/testbed.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : !componentsReady() ? 'components not prepared (npm run prepare:components)' : false;
const PORT = 7070;

/** A one-shot TCP server that answers every connection with its node's name. */
const SERVER = `require('node:net').createServer((s) => s.end(process.argv[1])).listen(${PORT}, process.argv[2], () => console.log('listening'))`;
/** Connects to each address and prints what it answered (or the error). */
const CLIENT = `const net = require('node:net');
Promise.all(process.argv.slice(1).map((ip) => new Promise((resolve) => {
  const s = net.connect({ host: ip, port: ${PORT}, timeout: 5000 });
  let got = '';
  s.on('data', (d) => (got += d)).on('end', () => resolve(ip + '=' + got)).on('error', (e) => resolve(ip + '=ERR ' + e.code)).on('timeout', () => { s.destroy(); resolve(ip + '=TIMEOUT'); });
}))).then((r) => console.log(r.join(' ')));`;

test('three nodes: TCP over the bridge, a containerd each, nothing left after stop()', { skip, timeout: 180_000 }, async (t) => {
  const t0 = Date.now();
  const bed = await startTestbed({ nodes: ['cp1', 'w1', 'w2'], containerd: true });
  t.diagnostic(`test bed ${bed.run} with 3 containerds up in ${Date.now() - t0} ms`);
  try {
    assert.deepEqual(
      bed.nodes.map((n) => n.ip),
      ['198.18.0.10', '198.18.0.11', '198.18.0.12'],
    );
    for (const node of bed.nodes) await node.spawn('echo-server', process.execPath, ['-e', SERVER, node.name, node.ip]);
    for (const node of bed.nodes) {
      const others = bed.nodes.filter((n) => n !== node);
      const want = others.map((o) => `${o.ip}=${o.name}`).join(' ');
      let got = '';
      for (let i = 0; i < 20 && got !== want; i++) {
        got = (await node.exec(process.execPath, ['-e', CLIENT, ...others.map((o) => o.ip)])).stdout.trim();
        if (got !== want) await new Promise((r) => setTimeout(r, 250)); // a server may still be starting
      }
      assert.equal(got, want, `from ${node.name}`);
    }
    // the namespaces are separate: a node's own loopback does not reach another node's server
    const lo = (await bed.node('w1').exec(process.execPath, ['-e', CLIENT.replace(`host: ip`, `host: '127.0.0.1'`), 'x'])).stdout;
    assert.match(lo, /ERR ECONNREFUSED/);

    for (const node of bed.nodes) {
      const ctrd = node.containerd;
      assert.ok(ctrd, `${node.name} has a containerd`);
      const version = await ctrd.cri.runtime.version({ version: 'v1' });
      assert.equal(version.runtimeName, 'containerd');
      assert.ok(ctrd.socket.startsWith(node.dir), `${ctrd.socket} under ${node.dir}`);
      // it runs inside the node's namespace
      const nsInode = statSync(`/run/netns/${node.netns}`).ino;
      const pids = execFileSync('ip', ['netns', 'pids', node.netns], { encoding: 'utf8' }).split('\n').filter(Boolean);
      const inNs = pids.filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(ctrd.configFile));
      assert.equal(inNs.length, 1, `containerd of ${node.name} among ${pids.join(',')}`);
      assert.equal(statSync(`/proc/${inNs[0]}/ns/net`).ino, nsInode);
    }
  } finally {
    const t1 = Date.now();
    await bed.stop();
    t.diagnostic(`stop() in ${Date.now() - t1} ms`);
  }
  assert.deepEqual(leftovers(bed), []);
});

test('a run killed with SIGKILL is swept by the next one', { skip, timeout: 60_000 }, () => {
  const script = `import { startTestbed } from ${JSON.stringify(path.resolve('test/support/testbed.ts'))};
const bed = await startTestbed({ nodes: ['a', 'b'] });
await bed.node('a').spawn('sleeper', 'sleep', ['600']);
console.log(JSON.stringify({ run: bed.run, dir: bed.dir, bridge: bed.bridge, nodes: bed.nodes.map((n) => ({ netns: n.netns, cgroupName: n.cgroupName })) }));
process.kill(process.pid, 'SIGKILL');`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(child.signal, 'SIGKILL', child.stderr);
  const left = JSON.parse(child.stdout.trim()) as Testbed;
  assert.ok(leftovers(left).length > 0, 'the killed run left something to sweep');
  assert.ok(sweepTestbeds().includes(left.run));
  assert.deepEqual(leftovers(left), []);
});
