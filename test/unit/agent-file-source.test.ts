import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, open, rm, symlink, unlink, utimes, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { memoryLogger, type MemoryLogger } from '../../src/agent/log.js';
import { FileSource, ignoreReason } from '../../src/agent/sources/file.js';
import type { SourceSnapshot } from '../../src/agent/sources/types.js';

const podYaml = (name: string, image = 'img:1', extra = ''): string =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  namespace: kube-system\nspec:\n  hostNetwork: true\n  containers:\n  - name: main\n    image: ${image}\n    command: [sleep, "3600"]\n${extra}`;

/** An old mtime, so the quiet-period check does not delay a file written by the test setup. */
async function writeOld(file: string, content: string | Buffer): Promise<void> {
  await writeFile(file, content);
  const t = new Date(Date.now() - 60_000);
  await utimes(file, t, t);
}

class Harness {
  snapshots: SourceSnapshot[] = [];
  log: MemoryLogger = memoryLogger();
  source: FileSource;
  constructor(
    readonly dir: string,
    checkFrequencyMs = 60_000,
  ) {
    this.source = new FileSource({ path: dir, nodeName: 'n1', checkFrequencyMs, logger: this.log });
  }
  start(): Promise<void> {
    return this.source.start((s) => this.snapshots.push(s));
  }
  get last(): SourceSnapshot {
    return this.snapshots.at(-1)!;
  }
  images(s = this.last): string[] {
    return s.pods.map((p) => `${p.name}=${p.pod.spec!.containers[0]!.image}`);
  }
  async waitFor(what: string, pred: (s: SourceSnapshot) => boolean, timeoutMs = 5000): Promise<SourceSnapshot> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = this.snapshots.at(-1);
      if (s && pred(s)) return s;
      if (Date.now() > deadline)
        assert.fail(`timed out waiting for ${what}; last snapshot: ${JSON.stringify(s && { pods: this.images(s), errors: s.errors })}`);
      await sleep(5);
    }
  }
  logged(msg: string): { msg: string; fields: Record<string, unknown> }[] {
    return this.log.records.filter((r) => r.msg === msg);
  }
}

describe('agent file source', () => {
  let root: string;
  let dir: string;
  let h: Harness | undefined;
  let n = 0;
  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'kubestrap-file-source-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });
  const fresh = async (checkFrequencyMs?: number): Promise<Harness> => {
    dir = path.join(root, `d${n++}`);
    await mkdir(dir);
    h = new Harness(dir, checkFrequencyMs);
    return h;
  };
  afterEach(async () => {
    await h?.source.stop();
    h = undefined;
  });

  it('ignore rules', () => {
    for (const name of [
      '.etcd.yaml',
      'etcd.yaml~',
      'etcd.yaml.swp',
      '.etcd.yaml.swx',
      'etcd.yaml.bak',
      'etcd.yaml.orig',
      'etcd.yaml-bak',
      '#etcd.yaml#',
      '4913',
      'etcd.yaml.tmp',
      'README.md',
      'etcd',
    ]) {
      assert.ok(ignoreReason(name), `${name} should be ignored`);
    }
    for (const name of ['etcd.yaml', 'etcd.yml', 'etcd.json', 'kube-apiserver.yaml']) assert.equal(ignoreReason(name), undefined, name);
  });

  it('reads manifests, ignores backup/swap files and logs each ignored file once', async () => {
    const s = await fresh(100);
    await writeOld(path.join(dir, 'a.yaml'), podYaml('a'));
    await writeOld(
      path.join(dir, 'b.json'),
      JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'b' }, spec: { containers: [{ name: 'c', image: 'img:1' }] } }),
    );
    const ignored = ['a.yaml.bak', 'a.yaml~', '.a.yaml.swp', 'a.yaml-bak', '4913', '#a.yaml#', 'a.yaml.orig', 'notes.txt'];
    for (const f of ignored) await writeOld(path.join(dir, f), podYaml('a', 'img:WRONG'));
    await mkdir(path.join(dir, 'sub.yaml'));
    await s.start();
    assert.deepEqual(s.images(), ['a-n1=img:1', 'b-n1=img:1']);
    assert.equal(s.last.pods[1]!.namespace, 'default');
    // More events and relists for the ignored files: still logged once each.
    for (const f of ignored) await writeFile(path.join(dir, f), podYaml('a', 'img:WRONG2'));
    await sleep(350);
    const logged = s
      .logged('ignoring file')
      .map((r) => path.basename(String(r.fields.file)))
      .sort();
    assert.deepEqual(logged, [...ignored].sort());
    // the subdirectory is not ignored silently: it is reported, once
    assert.deepEqual(
      s.last.errors.map((e) => path.basename(e.origin)),
      ['sub.yaml'],
    );
    assert.equal(s.logged('manifest refused').length, 1);
    assert.deepEqual(s.images(), ['a-n1=img:1', 'b-n1=img:1']);
  });

  it('accounts for every entry: a directory, symlinks to a directory or to nothing, a FIFO and a pod the runtime refuses', async () => {
    dir = path.join(root, `d${n++}`);
    await mkdir(dir);
    h = new Harness(dir, 100);
    const s = h;
    // what a runtime without pod networking says (ProcessRuntime.refuses)
    s.source = new FileSource({
      path: dir,
      nodeName: 'n1',
      checkFrequencyMs: 100,
      logger: s.log,
      admit: (pod) => (pod.spec?.hostNetwork === true ? undefined : { field: 'spec.hostNetwork', message: 'Forbidden: needs hostNetwork: true' }),
    });
    await writeOld(path.join(dir, 'good.yaml'), podYaml('good'));
    await writeOld(path.join(dir, 'podnet.yaml'), podYaml('podnet').replace('  hostNetwork: true\n', ''));
    await mkdir(path.join(dir, 'old'));
    await mkdir(path.join(dir, '.git'));
    await symlink(path.join(dir, 'old'), path.join(dir, 'dirlink.yaml'));
    await symlink(path.join(dir, 'missing.yaml'), path.join(dir, 'dangling.yaml'));
    await symlink(path.join(dir, 'good.yaml'), path.join(dir, 'alias.yaml.bak'));
    execFileSync('mkfifo', [path.join(dir, 'fifo.yaml')]);
    await s.start();
    // content that does not resolve is read once more before it counts (a writer may have paused)
    await s.waitFor('five refusals', (x) => x.errors.length === 5);
    const byFile = (): Map<string, string> => new Map(s.last.errors.map((e) => [path.basename(e.origin), e.message]));
    assert.deepEqual([...byFile().keys()].sort(), ['dangling.yaml', 'dirlink.yaml', 'fifo.yaml', 'old', 'podnet.yaml']);
    assert.match(byFile().get('old')!, /old: is a directory; manifests are not read from subdirectories/);
    assert.match(byFile().get('dirlink.yaml')!, /is a symlink to a directory \(.*\/old\)/);
    assert.match(byFile().get('dangling.yaml')!, /is a symlink to .*missing\.yaml, which does not exist/);
    assert.match(byFile().get('fifo.yaml')!, /is a FIFO; a manifest is a regular file/);
    assert.match(byFile().get('podnet.yaml')!, /podnet\.yaml: spec\.hostNetwork: Forbidden: needs hostNetwork: true/);
    assert.deepEqual(s.images(), ['good-n1=img:1']);
    // relists and events change nothing and log nothing more: once, not in a loop
    const since = s.last.errors.map((e) => e.since.getTime());
    const emitted = s.snapshots.length;
    await writeFile(path.join(dir, 'old', 'inner.yaml'), podYaml('inner'));
    await sleep(400);
    assert.equal(s.snapshots.length, emitted);
    assert.deepEqual(
      s.last.errors.map((e) => e.since.getTime()),
      since,
    );
    assert.equal(s.logged('manifest refused').length, 5);
    // fixed: the error goes away
    await rm(path.join(dir, 'old'), { recursive: true });
    await s.waitFor('directory gone', (x) => !x.errors.some((e) => e.origin.endsWith('/old')));
  });

  it('acts on add, edit and delete events without waiting for the relist', async () => {
    const s = await fresh(); // relist every 60 s: only events can explain what follows
    await s.start();
    assert.equal(s.last.pods.length, 0);
    await writeFile(path.join(dir, 'a.yaml'), podYaml('a'));
    await s.waitFor('add', (x) => x.pods.length === 1);
    const uid1 = s.last.pods[0]!.uid;
    await writeFile(path.join(dir, 'a.yaml'), podYaml('a', 'img:2'));
    await s.waitFor('edit', (x) => x.pods[0]?.pod.spec!.containers[0]!.image === 'img:2');
    assert.notEqual(s.last.pods[0]!.uid, uid1);
    const t0 = performance.now();
    await unlink(path.join(dir, 'a.yaml'));
    await s.waitFor('delete', (x) => x.pods.length === 0);
    const ms = performance.now() - t0;
    process.stdout.write(`# file source: delete → snapshot in ${ms.toFixed(1)} ms\n`);
    assert.ok(ms < 60_000, 'before the next relist');
  });

  it('a file written in place in several chunks never yields a broken pod or an error', async () => {
    const s = await fresh();
    await s.start();
    const text = podYaml('chunky', 'img:final', '    env:\n    - name: A\n      value: "1"\n    - name: B\n      value: "2"\n');
    const file = path.join(dir, 'chunky.yaml');
    const fh = await open(file, 'w');
    const pieces = 6;
    const size = Math.ceil(text.length / pieces);
    for (let i = 0; i < pieces; i++) {
      await fh.write(text.slice(i * size, (i + 1) * size));
      // Mostly short pauses; one longer than the quiet period, with a half-written file on disk.
      await sleep(i === 2 ? 90 : 15);
    }
    await fh.close();
    await s.waitFor('the pod', (x) => x.pods.length === 1);
    await sleep(400); // any late re-read would show up now
    for (const snap of s.snapshots) {
      assert.deepEqual(snap.errors, [], 'no error on the way');
      for (const p of snap.pods) {
        assert.equal(p.pod.spec!.containers[0]!.image, 'img:final');
        assert.equal(p.pod.spec!.containers[0]!.env?.length, 2);
      }
    }
  });

  it('a broken edit keeps the last good pod and reports the error once per content', async () => {
    const s = await fresh(100);
    const file = path.join(dir, 'a.yaml');
    await writeOld(file, podYaml('a'));
    await s.start();
    const good = s.last.pods[0]!;
    await writeFile(file, podYaml('a').replace('image: img:1', 'image: ""'));
    const broken = await s.waitFor('error', (x) => x.errors.length === 1);
    assert.equal(broken.pods.length, 1);
    assert.equal(broken.pods[0]!.uid, good.uid, 'last good pod kept');
    const err = broken.errors[0]!;
    assert.equal(err.origin, file);
    assert.match(err.message, /spec\.containers\[0\]\.image/);
    assert.deepEqual(err.keptPod, { namespace: 'kube-system', name: 'a-n1' });
    await sleep(300); // relists and re-reads of the same content
    await writeFile(file, podYaml('a').replace('image: img:1', 'image: ""')); // identical rewrite
    await sleep(300);
    assert.equal(s.logged('manifest refused').length, 1, 'logged once');
    await writeFile(file, 'apiVersion: v1\nkind: Pod\nmetadata: {name: a\n');
    await s.waitFor('another error', (x) => x.errors[0]?.message.includes('YAML') ?? false);
    assert.equal(s.logged('manifest refused').length, 2, 'a new content is logged again');
    assert.equal(s.last.pods[0]!.uid, good.uid);
    await writeFile(file, podYaml('a', 'img:3'));
    await s.waitFor('fixed', (x) => x.errors.length === 0 && x.pods[0]?.pod.spec!.containers[0]!.image === 'img:3');
  });

  it('two files declaring one pod: the first in sorted order wins, the other is refused naming both', async () => {
    const s = await fresh(100);
    await writeOld(path.join(dir, '10-etcd.yaml'), podYaml('etcd', 'img:first'));
    await writeOld(path.join(dir, '20-etcd.yaml'), podYaml('etcd', 'img:second'));
    await s.start();
    assert.deepEqual(s.images(), ['etcd-n1=img:first']);
    assert.equal(s.last.errors.length, 1);
    const e = s.last.errors[0]!;
    assert.equal(e.origin, path.join(dir, '20-etcd.yaml'));
    assert.ok(e.message.includes(path.join(dir, '10-etcd.yaml')) && e.message.includes(path.join(dir, '20-etcd.yaml')), e.message);
    // Editing the loser changes nothing.
    await writeFile(path.join(dir, '20-etcd.yaml'), podYaml('etcd', 'img:second-2'));
    await sleep(300);
    assert.deepEqual(s.images(), ['etcd-n1=img:first']);
    // The winner goes away: the other takes over, and the log says so.
    await unlink(path.join(dir, '10-etcd.yaml'));
    await s.waitFor('switch', (x) => x.pods[0]?.pod.spec!.containers[0]!.image === 'img:second-2');
    assert.equal(s.last.errors.length, 0);
    assert.equal(s.logged('pod now comes from another file (the file that declared it first is gone)').length, 1);
  });

  it('refuses a PodList and a file over 10 MiB', async () => {
    const s = await fresh();
    await writeOld(path.join(dir, 'list.yaml'), `apiVersion: v1\nkind: PodList\nitems:\n- ${podYaml('x').replace(/\n/g, '\n  ')}`);
    await writeOld(path.join(dir, 'huge.yaml'), Buffer.alloc(10 * 1024 * 1024 + 1, 0x20));
    await s.start();
    await s.waitFor('two errors', (x) => x.errors.length === 2);
    const byFile = new Map(s.last.errors.map((e) => [path.basename(e.origin), e.message]));
    assert.match(byFile.get('list.yaml')!, /kind: Unsupported value: "PodList".*one Pod per file/);
    assert.match(byFile.get('huge.yaml')!, /larger than 10 MiB/);
    assert.equal(s.last.pods.length, 0);
  });

  it('a missing directory is an empty source until it appears', async () => {
    dir = path.join(root, `missing${n++}`);
    h = new Harness(dir, 100);
    await h.start();
    assert.equal(h.last.pods.length, 0);
    await mkdir(dir);
    await writeFile(path.join(dir, 'a.yaml'), podYaml('a'));
    await h.waitFor('pod after the directory appears', (x) => x.pods.length === 1);
    assert.equal(h.logged('manifest directory cannot be read; retrying at each relist').length, 1);
  });

  it('a temp file renamed into place is read at once; a file written in place waits for the quiet period', async () => {
    const quietMs = 400; // long, so the difference cannot come from scheduling noise
    dir = path.join(root, `d${n++}`);
    await mkdir(dir);
    h = new Harness(dir);
    h.source = new FileSource({ path: dir, nodeName: 'n1', checkFrequencyMs: 60_000, quietMs, logger: h.log });
    await h.start();
    // as Host.writeFile and atomic writers: a dot temp file in the same directory, synced, renamed
    const tmp = path.join(dir, '.moved.yaml.1234.tmp');
    const fh = await open(tmp, 'wx');
    await fh.writeFile(podYaml('moved'));
    await fh.sync();
    await fh.close();
    await sleep(20); // the temp file's events are seen (its inode noted) before the rename
    let t = performance.now();
    execFileSync('mv', [tmp, path.join(dir, 'moved.yaml')]);
    await h.waitFor('the renamed pod', (x) => x.pods.some((p) => p.name === 'moved-n1'));
    const renamed = performance.now() - t;
    assert.ok(renamed < quietMs / 2, `renamed into place: read after ${renamed.toFixed(0)} ms`);

    t = performance.now();
    await writeFile(path.join(dir, 'inplace.yaml'), podYaml('inplace'));
    await h.waitFor('the pod written in place', (x) => x.pods.some((p) => p.name === 'inplace-n1'));
    const inplace = performance.now() - t;
    assert.ok(inplace >= quietMs, `written in place: read after ${inplace.toFixed(0)} ms`);

    // a file moved in from elsewhere (its inode never seen here) gets the quiet period too
    const outside = path.join(root, `outside-${n}.yaml`);
    await writeFile(outside, podYaml('outside'));
    t = performance.now();
    execFileSync('mv', [outside, path.join(dir, 'outside.yaml')]);
    await h.waitFor('the pod moved in', (x) => x.pods.some((p) => p.name === 'outside-n1'));
    assert.ok(performance.now() - t >= quietMs, 'moved in from another directory: waits');
  });
});
