/** The runner's RunIf (`when` / `skipped`), the path it hands each phase, and errors tagged with their phase. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, KubestrapError } from '../../src/errors.js';
import { Runner, type Phase } from '../../src/phases/runner.js';

interface Data {
  external: boolean;
  log: string[];
}

const leaf = (name: string, extra: Partial<Phase<Data>> = {}): Phase<Data> => ({
  name,
  help: name,
  prepare: (d, self) => void d.log.push(`prepare ${self.path}`),
  run: (d, self) => void d.log.push(`run ${self.path}`),
  ...extra,
});

const tree: Phase<Data>[] = [
  {
    name: 'etcd',
    help: 'etcd',
    phases: [leaf('local', { when: (d) => !d.external, skipped: (d, self) => void d.log.push(`skipped ${self.path}`) })],
  },
  { name: 'certs', help: 'certs', when: (d) => !d.external, phases: [leaf('etcd-ca')] },
  leaf('last'),
];

test('a phase that does not apply is neither prepared nor run; skipped() says so; its subtree is skipped too', async () => {
  const local: Data = { external: false, log: [] };
  await new Runner(tree).run(local);
  assert.deepEqual(local.log, ['prepare etcd/local', 'prepare certs/etcd-ca', 'prepare last', 'run etcd/local', 'run certs/etcd-ca', 'run last']);
  const external: Data = { external: true, log: [] };
  const ran = await new Runner(tree).run(external);
  assert.deepEqual(external.log, ['prepare last', 'skipped etcd/local', 'run last']);
  assert.deepEqual(ran, ['etcd/local', 'last']);
});

test('a user error leaves the runner with the path of its phase; other errors are untouched', async () => {
  const failing = (err: Error): Phase<Data>[] => [{ name: 'certs', help: 'certs', phases: [leaf('apiserver', { run: () => Promise.reject(err) })] }];
  const userErr = await new Runner(failing(new ConfigError('bad', { file: '/x' }))).run({ external: false, log: [] }).catch((e: unknown) => e);
  assert.ok(userErr instanceof KubestrapError);
  assert.equal(userErr.phase, 'certs/apiserver');
  assert.equal(userErr.oneLine(), '/x: bad');
  const bug = new TypeError('boom');
  assert.equal(await new Runner(failing(bug)).run({ external: false, log: [] }).catch((e: unknown) => e), bug);
});
