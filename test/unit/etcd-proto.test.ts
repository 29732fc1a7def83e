/**
 * Drift guard for src/etcd/rpc.proto: every method, message and field of our subset must exist with
 * the same name, number, type and label in upstream etcd's api/v3/etcdserverpb/rpc.proto at the etcd
 * version kubeadm pins for the default Kubernetes release (the test/support/etcd/vX module). Fields
 * left out are fine; anything that differs is a wire break.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { loadPackageProto } from '../../src/util/proto.js';
import { ETCD_LOADER_OPTIONS, ETCD_PROTO, etcdProtoPath, grpcTarget, hexId } from '../../src/etcd/client.js';
import { DEFAULT_RELEASE } from '../../src/config/versions.js';
import { etcdVersionOfTag } from '../../src/config/images.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const etcdVersion = `v${etcdVersionOfTag(DEFAULT_RELEASE.etcdImageTag)}`;
const etcdModule = path.join(repo, `test/support/etcd/${etcdVersion}`);

function goEnv(name: string): string {
  return execFileSync('go', ['env', name], { encoding: 'utf8', env: { ...process.env, GOTOOLCHAIN: 'local' } }).trim();
}

/** Upstream rpc.proto of go.etcd.io/etcd/api/v3 as the etcd wrapper module resolves it. */
function upstreamProto(): string {
  const sum = readFileSync(path.join(etcdModule, 'go.sum'), 'utf8');
  const version = /^go\.etcd\.io\/etcd\/api\/v3 (v[^\s/]+) h1:/m.exec(sum)?.[1];
  assert.ok(version, `go.etcd.io/etcd/api/v3 is not in ${etcdModule}/go.sum`);
  const file = path.join(goEnv('GOMODCACHE'), `go.etcd.io/etcd/api/v3@${version}`, 'etcdserverpb/rpc.proto');
  if (!existsSync(file)) {
    execFileSync('go', ['mod', 'download', '-json', `go.etcd.io/etcd/api/v3@${version}`], {
      cwd: etcdModule,
      env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  assert.ok(existsSync(file), `${file} missing after go mod download`);
  return file;
}

/** Upstream imports gogoproto and the HTTP gateway: parse only, compare type names as written. */
const parse = (file: string): protobuf.Root => protobuf.parse(readFileSync(file, 'utf8'), { keepCase: true }).root;
const describeField = (f: protobuf.Field): string => `${f.repeated ? 'repeated ' : ''}${f.type} ${f.name} = ${f.id}`;

const ours = parse(etcdProtoPath());
const upstreamFile = upstreamProto();
const upstream = parse(upstreamFile);

function problems(root: protobuf.Root): string[] {
  const out: string[] = [];
  const pkg = root.lookup('etcdserverpb') as protobuf.Namespace;
  for (const def of pkg.nestedArray) {
    const theirs = upstream.lookup(def.fullName);
    if (def instanceof protobuf.Type) {
      if (!(theirs instanceof protobuf.Type)) {
        out.push(`${def.fullName}: not a message upstream`);
        continue;
      }
      for (const f of def.fieldsArray) {
        const up = theirs.fields[f.name];
        if (!up) out.push(`${def.fullName}.${f.name}: not in upstream`);
        else if (describeField(up) !== describeField(f)) out.push(`${def.fullName}.${f.name}: ours "${describeField(f)}", upstream "${describeField(up)}"`);
      }
    } else if (def instanceof protobuf.Service) {
      if (!(theirs instanceof protobuf.Service)) {
        out.push(`${def.fullName}: not a service upstream`);
        continue;
      }
      for (const m of def.methodsArray) {
        const up = theirs.methods[m.name];
        const sig = (x: protobuf.Method): string =>
          `${x.requestStream ? 'stream ' : ''}${x.requestType} -> ${x.responseStream ? 'stream ' : ''}${x.responseType}`;
        if (!up) out.push(`${def.fullName}.${m.name}: not in upstream`);
        else if (sig(up) !== sig(m)) out.push(`${def.fullName}.${m.name}: ours ${sig(m)}, upstream ${sig(up)}`);
      }
    } else out.push(`${def.fullName}: unexpected definition in the subset`);
  }
  return out;
}

test(`rpc.proto subset matches go.etcd.io/etcd/api/v3 (${path.basename(path.dirname(path.dirname(upstreamFile)))})`, () => {
  const pkg = ours.lookup('etcdserverpb') as protobuf.Namespace;
  assert.ok(pkg.nestedArray.length >= 14, 'the subset parsed');
  assert.deepEqual(problems(ours), []);
});

test('rpc.proto has the calls membership and upgrade need', () => {
  assert.deepEqual(Object.keys(ours.lookupService('etcdserverpb.Cluster').methods).sort(), ['MemberAdd', 'MemberList', 'MemberPromote', 'MemberRemove']);
  assert.deepEqual(Object.keys(ours.lookupService('etcdserverpb.Maintenance').methods).sort(), ['Snapshot', 'Status']);
  // a server stream: upstream's signature, checked field by field above
  assert.equal(ours.lookupService('etcdserverpb.Maintenance').methods.Snapshot!.responseStream, true);
});

test('the drift check notices a changed field number', () => {
  const broken = protobuf.parse(readFileSync(etcdProtoPath(), 'utf8').replace('bool isLearner = 5;', 'bool isLearner = 6;'), { keepCase: true }).root;
  assert.deepEqual(problems(broken), ['.etcdserverpb.Member.isLearner: ours "bool isLearner = 6", upstream "bool isLearner = 5"']);
});

test('uint64 member IDs decode as decimal strings, shown as hex', () => {
  const def = loadPackageProto(ETCD_PROTO, ETCD_LOADER_OPTIONS).get('etcdserverpb.Cluster')!;
  const wire = upstream.lookupType('etcdserverpb.MemberListResponse');
  wire.resolveAll();
  const bytes = wire.encode(wire.fromObject({ members: [{ ID: '10276657743932975437', name: 'cp1', peerURLs: ['https://10.0.0.1:2380'] }] })).finish();
  const decoded = def.MemberList!.responseDeserialize(Buffer.from(bytes)) as { members: { ID: string; isLearner: boolean; clientURLs: string[] }[] };
  assert.equal(decoded.members[0]!.ID, '10276657743932975437');
  assert.equal(decoded.members[0]!.isLearner, false);
  assert.deepEqual(decoded.members[0]!.clientURLs, []);
  assert.equal(hexId(decoded.members[0]!.ID), '8e9e05c52164694d');
  assert.equal(grpcTarget('https://10.0.0.1:2379'), '10.0.0.1:2379');
  assert.equal(grpcTarget('https://[fd00::1]:2379'), '[fd00::1]:2379');
  assert.throws(() => grpcTarget('http://10.0.0.1:2379'), /must be https/);
});
