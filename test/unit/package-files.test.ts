/**
 * src/util/package-files.ts and proto.ts outside the single executable (sea.test.ts runs the
 * executable): shipped files come from the package tree, the parsed protos give the same services
 * as proto-loader's own loadSync, and the self command is node + bin/kubestrap.js.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import * as protoLoader from '@grpc/proto-loader';
import { CRI_PROTO, LOADER_OPTIONS } from '../../src/cri/client.js';
import { ETCD_LOADER_OPTIONS, ETCD_PROTO } from '../../src/etcd/client.js';
import { isSelfCommandLine, isSingleExecutable, packageDirFiles, packageRoot, readPackageFile, selfCommand } from '../../src/util/package-files.js';
import { loadPackageProto } from '../../src/util/proto.js';

test('outside the single executable, files come from the package root', () => {
  assert.equal(isSingleExecutable(), false);
  assert.ok(existsSync(path.join(packageRoot(), 'package.json')));
  assert.equal((JSON.parse(readPackageFile('package.json').toString('utf8')) as { name: string }).name, 'kubestrap');
  assert.ok(packageDirFiles('templates').includes('etcd.yaml.hbs'));
  assert.throws(() => readPackageFile('no/such/file'), { code: 'ENOENT' });
});

for (const [rel, options] of [
  [CRI_PROTO, LOADER_OPTIONS],
  [ETCD_PROTO, ETCD_LOADER_OPTIONS],
] as const) {
  test(`${rel}: the parsed text gives the services and methods proto-loader's loadSync gives`, () => {
    const shape = (def: protoLoader.PackageDefinition): Record<string, string[]> =>
      Object.fromEntries(
        Object.entries(def)
          .filter(([, v]) => !('format' in v))
          .map(([name, service]) => [
            name,
            Object.values(service as protoLoader.ServiceDefinition).map((m) => `${m.path} ${m.requestStream} ${m.responseStream}`),
          ]),
      );
    const ours = loadPackageProto(rel, options);
    const theirs = protoLoader.loadSync(path.join(packageRoot(), rel), options);
    assert.deepEqual(shape(ours), shape(theirs));
    assert.deepEqual(Object.keys(ours).sort(), Object.keys(theirs).sort());
  });
}

test('selfCommand runs bin/kubestrap.js with this node; both command lines are recognised', () => {
  const self = selfCommand();
  assert.equal(self.command, process.execPath);
  assert.deepEqual(self.args, [path.join(packageRoot(), 'bin', 'kubestrap.js')]);
  assert.ok(isSelfCommandLine([self.command, ...self.args, 'agent']));
  assert.ok(isSelfCommandLine(['/vagrant/dist/kubestrap', 'agent']));
  assert.ok(!isSelfCommandLine(['/usr/bin/sleep', 'agent']));
});
