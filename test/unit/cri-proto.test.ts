/**
 * Drift guard for src/cri/api.proto: every service method, message, field and enum value in our
 * subset must exist with the same name, number, type and label in upstream k8s.io/cri-api's
 * runtime/v1/api.proto at the version the default Kubernetes release pins (test/support/k8s/v1.X/go.sum). Unset fields upstream
 * are fine (the subset leaves them out); anything that differs is a wire break.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { loadPackageProto } from '../../src/util/proto.js';
import { CRI_PROTO, criClient, LOADER_OPTIONS, normaliseEndpoint, protoPath } from '../../src/cri/client.js';
import { DEFAULT_RELEASE } from '../../src/config/versions.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const k8sModule = path.join(repo, `test/support/k8s/v1.${DEFAULT_RELEASE.minor}`);

function goEnv(name: string): string {
  return execFileSync('go', ['env', name], { encoding: 'utf8', env: { ...process.env, GOTOOLCHAIN: 'local' } }).trim();
}

/** The upstream api.proto path in the module cache, downloading the module when it is not there. */
function upstreamProto(): { file: string; version: string } {
  const sum = readFileSync(path.join(k8sModule, 'go.sum'), 'utf8');
  const version = /^k8s\.io\/cri-api (v[^\s/]+) h1:/m.exec(sum)?.[1];
  assert.ok(version, `k8s.io/cri-api is not in ${k8sModule}/go.sum`);
  const file = path.join(goEnv('GOMODCACHE'), `k8s.io/cri-api@${version}`, 'pkg/apis/runtime/v1/api.proto');
  if (!existsSync(file)) {
    execFileSync('go', ['mod', 'download', '-json', `k8s.io/cri-api@${version}`], {
      cwd: k8sModule,
      env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  assert.ok(existsSync(file), `${file} missing after go mod download`);
  return { file, version };
}

function load(file: string): protobuf.Root {
  const root = protobuf.parse(readFileSync(file, 'utf8'), { keepCase: true }).root;
  root.resolveAll();
  return root;
}

/** Every message and enum under a namespace, by full name (nested ones included). */
function collect(ns: protobuf.NamespaceBase, out: protobuf.ReflectionObject[] = []): protobuf.ReflectionObject[] {
  for (const nested of ns.nestedArray) {
    if (nested instanceof protobuf.Type || nested instanceof protobuf.Enum || nested instanceof protobuf.Service) out.push(nested);
    if (nested instanceof protobuf.Namespace) collect(nested, out);
  }
  return out;
}

function describeField(f: protobuf.Field): string {
  const kind = f instanceof protobuf.MapField ? `map<${f.keyType}, ${f.type}>` : f.type;
  const resolved = f.resolvedType ? ` (${f.resolvedType.fullName})` : '';
  return `${f.repeated && !(f instanceof protobuf.MapField) ? 'repeated ' : ''}${kind}${resolved} ${f.name} = ${f.id}`;
}

const ours = load(protoPath());
const { file: upstreamFile, version } = upstreamProto();
const upstream = load(upstreamFile);
const ourDefs = collect(ours);

test(`api.proto subset matches k8s.io/cri-api ${version}`, () => {
  assert.ok(ourDefs.length > 50, 'the subset parsed');
  const problems: string[] = [];
  for (const def of ourDefs) {
    const theirs = upstream.lookup(def.fullName);
    if (!theirs) {
      problems.push(`${def.fullName}: not in upstream`);
      continue;
    }
    if (def instanceof protobuf.Type) {
      if (!(theirs instanceof protobuf.Type)) {
        problems.push(`${def.fullName}: upstream is not a message`);
        continue;
      }
      for (const field of def.fieldsArray) {
        const up = theirs.fields[field.name];
        if (!up) problems.push(`${def.fullName}.${field.name}: not in upstream`);
        else if (describeField(up) !== describeField(field)) {
          problems.push(`${def.fullName}.${field.name}: ours "${describeField(field)}", upstream "${describeField(up)}"`);
        }
      }
      if (def.oneofsArray.length > 0) problems.push(`${def.fullName}: oneofs are not expected in the subset`);
    } else if (def instanceof protobuf.Enum) {
      if (!(theirs instanceof protobuf.Enum)) {
        problems.push(`${def.fullName}: upstream is not an enum`);
        continue;
      }
      for (const [name, number] of Object.entries(def.values)) {
        if (theirs.values[name] !== number) problems.push(`${def.fullName}.${name} = ${number}: upstream ${theirs.values[name]}`);
      }
    } else if (def instanceof protobuf.Service) {
      if (!(theirs instanceof protobuf.Service)) {
        problems.push(`${def.fullName}: upstream is not a service`);
        continue;
      }
      for (const method of def.methodsArray) {
        const up = theirs.methods[method.name];
        const sig = (m: protobuf.Method): string =>
          `${m.requestStream ? 'stream ' : ''}${m.resolvedRequestType?.fullName} -> ${m.responseStream ? 'stream ' : ''}${m.resolvedResponseType?.fullName}`;
        if (!up) problems.push(`${def.fullName}.${method.name}: not in upstream`);
        else if (sig(up) !== sig(method)) problems.push(`${def.fullName}.${method.name}: ours ${sig(method)}, upstream ${sig(up)}`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

test('api.proto has the RPCs the agent needs', () => {
  const runtime = ours.lookupService('runtime.v1.RuntimeService');
  const image = ours.lookupService('runtime.v1.ImageService');
  assert.deepEqual(Object.keys(runtime.methods).sort(), [
    'ContainerStatus',
    'CreateContainer',
    'ExecSync',
    'GetContainerEvents',
    'ListContainers',
    'ListPodSandbox',
    'PodSandboxStatus',
    'RemoveContainer',
    'RemovePodSandbox',
    'RunPodSandbox',
    'StartContainer',
    'Status',
    'StopContainer',
    'StopPodSandbox',
    'Version',
  ]);
  assert.deepEqual(Object.keys(image.methods).sort(), ['ImageStatus', 'ListImages', 'PullImage']);
});

test('the drift check notices a changed field number', () => {
  const broken = protobuf.parse(readFileSync(protoPath(), 'utf8').replace('string runtime_api_version = 4;', 'string runtime_api_version = 5;'), {
    keepCase: true,
  }).root;
  broken.resolveAll();
  const ourField = broken.lookupType('runtime.v1.VersionResponse').fields.runtime_api_version!;
  const upField = upstream.lookupType('runtime.v1.VersionResponse').fields.runtime_api_version!;
  assert.notEqual(describeField(ourField), describeField(upField));
});

test('client: one promise method per unary rpc, decoded as types.ts describes', () => {
  const client = criClient('/nonexistent/cri.sock');
  try {
    for (const method of Object.keys(ours.lookupService('runtime.v1.RuntimeService').methods)) {
      const fn = method.charAt(0).toLowerCase() + method.slice(1);
      assert.equal(typeof (client.runtime as unknown as Record<string, unknown>)[fn], 'function', fn);
    }
    assert.equal(typeof client.image.pullImage, 'function');
  } finally {
    client.close();
  }
  assert.equal(normaliseEndpoint('/run/containerd/containerd.sock'), 'unix:///run/containerd/containerd.sock');
  assert.throws(() => normaliseEndpoint('relative.sock'), /absolute/);

  // round trip through our decoder: camelCase, enum names, int64 as number, defaults
  const def = loadPackageProto(CRI_PROTO, LOADER_OPTIONS).get('runtime.v1.RuntimeService')!;
  const method = def.ContainerStatus!;
  const wire = upstream.lookupType('runtime.v1.ContainerStatusResponse');
  const bytes = wire
    .encode(wire.fromObject({ status: { id: 'c1', state: 'CONTAINER_EXITED', started_at: '1763767000123456789', exit_code: 3, metadata: { name: 'etcd' } } }))
    .finish();
  const decoded = method.responseDeserialize(Buffer.from(bytes)) as {
    status: { id: string; state: string; startedAt: number; finishedAt: number; exitCode: number; mounts: unknown[]; image: unknown };
    info: Record<string, string>;
  };
  assert.equal(decoded.status.state, 'CONTAINER_EXITED');
  assert.equal(decoded.status.exitCode, 3);
  assert.equal(typeof decoded.status.startedAt, 'number');
  assert.ok(Math.abs(decoded.status.startedAt - 1763767000123456789) < 1e3);
  assert.equal(decoded.status.finishedAt, 0);
  assert.deepEqual(decoded.status.mounts, []);
  assert.equal(decoded.status.image, null);
  assert.deepEqual(decoded.info, {});
});
