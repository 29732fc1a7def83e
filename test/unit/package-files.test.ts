/**
 * src/util/package-files.ts and proto.ts outside the single executable (sea.test.ts runs the
 * executable): shipped files come from the package tree, the parsed protos give the same services
 * and codecs as proto-loader's own loadSync, and the self command is node + bin/kubestrap.js.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
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
  test(`${rel}: the parsed text gives the services, methods and codecs proto-loader's loadSync gives`, () => {
    const theirs = protoLoader.loadSync(path.join(packageRoot(), rel), options);
    const theirServices = Object.entries(theirs).filter(([, v]) => !('format' in v)) as [string, protoLoader.ServiceDefinition][];
    const ours = loadPackageProto(rel, options);
    assert.deepEqual([...ours.keys()].sort(), theirServices.map(([name]) => name).sort());
    for (const [name, service] of theirServices) {
      const mine = ours.get(name)!;
      assert.deepEqual(Object.keys(mine).sort(), Object.keys(service).sort(), name);
      for (const [method, m] of Object.entries(service)) {
        const o = mine[method]!;
        assert.deepEqual([o.path, o.requestStream, o.responseStream], [m.path, m.requestStream, m.responseStream], `${name}.${method}`);
        // the empty message both ways: every default the decoder fills in (scalars, lists, maps, null messages)
        assert.deepEqual(o.responseDeserialize(Buffer.alloc(0)), m.responseDeserialize(Buffer.alloc(0)), `${name}.${method} response`);
        assert.deepEqual(o.requestSerialize({}), m.requestSerialize({}), `${name}.${method} request`);
      }
    }
  });
}

test('CRI messages encode and decode as proto-loader does them', () => {
  const theirs = protoLoader.loadSync(path.join(packageRoot(), CRI_PROTO), LOADER_OPTIONS)['runtime.v1.RuntimeService'] as protoLoader.ServiceDefinition;
  const ours = loadPackageProto(CRI_PROTO, LOADER_OPTIONS).get('runtime.v1.RuntimeService')!;
  const text = readPackageFile(CRI_PROTO).toString('utf8');
  const root = protobuf.parse(text, { keepCase: false }).root;
  // protobufjs 8 (ours) leaves proto3 zero scalars off the wire, proto-loader's protobufjs 7 writes
  // the ones a request sets: the same message to a proto3 reader as long as no field has explicit
  // presence, so compare what a reader decodes, and keep api.proto free of `optional` and `oneof`.
  assert.doesNotMatch(text, /^\s*(optional|oneof)\b/m);
  const read = (typeName: string, bytes: Buffer): object => {
    const type = root.lookupType(typeName);
    return type.toObject(type.decode(bytes), { ...LOADER_OPTIONS, defaults: true });
  };
  const requests: [string, string, object][] = [
    [
      'RunPodSandbox',
      'runtime.v1.RunPodSandboxRequest',
      {
        config: {
          metadata: { name: 'etcd-n1', uid: 'u1', namespace: 'kube-system', attempt: 2 },
          labels: { a: 'b' },
          linux: { securityContext: { namespaceOptions: { network: 'NODE', pid: 'CONTAINER' } }, resources: { memoryLimitInBytes: 2 ** 40 } },
        },
      },
    ],
    [
      'CreateContainer',
      'runtime.v1.CreateContainerRequest',
      { config: { envs: [{ key: 'K', value: Buffer.from('v') }], labels: { x: 'y' }, linux: { securityContext: { runAsUser: { value: 0 } } } } },
    ],
  ];
  for (const [method, typeName, request] of requests) {
    const bytes = ours[method]!.requestSerialize(request);
    assert.ok(bytes.length > 0);
    assert.deepEqual(read(typeName, bytes), read(typeName, theirs[method]!.requestSerialize(request)), method);
  }
  // runAsUser 0 (root) is a set message with a zero inside: still present on the wire
  const created = read('runtime.v1.CreateContainerRequest', ours.CreateContainer!.requestSerialize(requests[1]![2])) as {
    config: { linux: { securityContext: { runAsUser: { value: number } | null } } };
  };
  assert.deepEqual(created.config.linux.securityContext.runAsUser, { value: 0 });

  // a response with an enum, an int64 beyond 32 bits, a map and a repeated message
  const type = root.lookupType('runtime.v1.ContainerStatusResponse');
  const status = {
    status: { id: 'c1', state: 'CONTAINER_EXITED', startedAt: 1763767000123456789, exitCode: 3, labels: { l: 'v' }, mounts: [{ containerPath: '/x' }] },
  };
  const bytes = Buffer.from(type.encode(type.fromObject(status)).finish());
  const decoded = ours.ContainerStatus!.responseDeserialize(bytes) as { status: { state: string; startedAt: number; mounts: unknown[] } };
  assert.deepEqual(decoded, theirs.ContainerStatus!.responseDeserialize(bytes));
  assert.equal(decoded.status.state, 'CONTAINER_EXITED');
  assert.equal(typeof decoded.status.startedAt, 'number');
  assert.equal(decoded.status.mounts.length, 1);
});

test('selfCommand runs bin/kubestrap.js with this node; both command lines are recognised', () => {
  const self = selfCommand();
  assert.equal(self.command, process.execPath);
  assert.deepEqual(self.args, [path.join(packageRoot(), 'bin', 'kubestrap.js')]);
  assert.ok(isSelfCommandLine([self.command, ...self.args, 'agent']));
  assert.ok(isSelfCommandLine(['/vagrant/dist/kubestrap', 'agent']));
  assert.ok(!isSelfCommandLine(['/usr/bin/sleep', 'agent']));
});
