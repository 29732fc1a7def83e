import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveStaticPod } from '../../src/agent/identity.js';
import { Merger } from '../../src/agent/merger.js';
import type { StaticPod } from '../../src/agent/pod-types.js';
import type { SourceSnapshot } from '../../src/agent/sources/types.js';
import { catchUpEvents } from '../../src/agent/agent.js';

function pod(name: string, image = 'img:1', source: 'file' | 'http' = 'file', origin = `/m/${name}.yaml`): StaticPod {
  return resolveStaticPod({
    manifest: { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'kube-system' }, spec: { containers: [{ name: 'c', image }] } },
    source,
    origin,
    nodeName: 'n1',
    seen: new Date(0),
  });
}

const snap = (source: 'file' | 'http', pods: StaticPod[]): SourceSnapshot => ({ source, pods, errors: [], observedAt: 0 });
const summary = (events: ReturnType<Merger['update']>): string[] => events.map((e) => `${e.type} ${e.pod.name}`);

describe('agent merger', () => {
  it('turns snapshots into add/update/remove, removes first', () => {
    const m = new Merger();
    assert.deepEqual(summary(m.update(snap('file', [pod('b'), pod('a')]))), ['add a-n1', 'add b-n1']);
    assert.deepEqual(summary(m.update(snap('file', [pod('b'), pod('a')]))), [], 'same snapshot: nothing');
    const events = m.update(snap('file', [pod('a', 'img:2'), pod('c')]));
    assert.deepEqual(summary(events), ['remove b-n1', 'update a-n1', 'add c-n1']);
    const upd = events[1]!;
    assert.ok(upd.type === 'update');
    assert.equal(upd.previous.pod.spec!.containers[0]!.image, 'img:1');
    assert.equal(upd.pod.pod.spec!.containers[0]!.image, 'img:2');
    assert.deepEqual(
      m.pods().map((p) => p.name),
      ['a-n1', 'c-n1'],
    );
    assert.deepEqual(summary(m.update(snap('file', []))), ['remove a-n1', 'remove c-n1']);
  });

  it('keeps each source separate', () => {
    const m = new Merger();
    m.update(snap('file', [pod('a')]));
    assert.deepEqual(summary(m.update(snap('http', [pod('h', 'img:1', 'http', 'http://x/')]))), ['add h-n1']);
    assert.deepEqual(summary(m.update(snap('http', []))), ['remove h-n1'], 'http going empty does not touch file pods');
    assert.deepEqual(
      m.pods().map((p) => p.name),
      ['a-n1'],
    );
  });

  it('a pod declared by two sources goes to the file source; the other is refused naming both', () => {
    const m = new Merger();
    m.update(snap('http', [pod('a', 'img:9', 'http', 'http://x/pods')]));
    const events = m.update(snap('file', [pod('a')]));
    assert.deepEqual(summary(events), ['update a-n1']);
    assert.equal(m.pods()[0]!.source, 'file');
    const errors = m.errors();
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.origin, 'http://x/pods');
    assert.match(errors[0]!.message, /http:\/\/x\/pods.*\/m\/a\.yaml/);
    const since = errors[0]!.since;
    m.update(snap('file', [pod('a')]));
    assert.equal(m.errors()[0]!.since, since, 'the same conflict keeps its first-seen time');
  });

  it('passes source errors through', () => {
    const m = new Merger();
    m.update({ source: 'file', pods: [], errors: [{ source: 'file', origin: '/m/x.yaml', message: 'broken', since: new Date() }], observedAt: 0 });
    assert.deepEqual(
      m.errors().map((e) => e.message),
      ['broken'],
    );
  });

  it('after adoption: unchanged pods are re-applied as add, changed ones as update, gone ones as remove', () => {
    const adopted = [pod('a'), pod('b'), pod('c')];
    const now = [pod('a'), pod('b', 'img:2'), pod('d')];
    assert.deepEqual(summary(catchUpEvents(adopted, now)), ['remove c-n1', 'add a-n1', 'update b-n1', 'add d-n1']);
  });
});
