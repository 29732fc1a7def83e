import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { ManifestError } from '../../src/errors.js';
import { decodeDocument } from '../../src/pod/decode.js';
import { canonicalJson, podUid, resolveStaticPod, validateManifest } from '../../src/agent/identity.js';
import { defaultPullPolicy } from '../../src/pod/defaults.js';

const manifest = (): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'etcd', namespace: 'kube-system', labels: { component: 'etcd' } },
  spec: {
    hostNetwork: true,
    containers: [
      {
        name: 'etcd',
        image: 'registry.k8s.io/etcd:3.6.4-0',
        command: ['etcd'],
        ports: [{ containerPort: 2379 }],
        livenessProbe: { httpGet: { port: 2381, path: '/livez' } },
        volumeMounts: [{ name: 'data', mountPath: '/var/lib/etcd' }],
      },
    ],
    volumes: [{ name: 'data', hostPath: { path: '/var/lib/etcd', type: 'DirectoryOrCreate' } }],
  },
});

const resolve = (m: unknown, origin = '/etc/kubernetes/manifests/etcd.yaml', node = 'Node-1') =>
  resolveStaticPod({ manifest: m, source: 'file', origin, nodeName: node, seen: new Date('2026-01-01T00:00:00Z') });

function manifestError(fn: () => unknown): ManifestError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ManifestError, `expected ManifestError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ManifestError');
}

describe('agent identity', () => {
  it('names, namespaces and annotates like the kubelet', () => {
    const p = resolve(manifest());
    assert.equal(p.name, 'etcd-node-1');
    assert.equal(p.namespace, 'kube-system');
    assert.equal(p.pod.spec!.nodeName, 'Node-1');
    const a = p.pod.metadata!.annotations!;
    assert.equal(a['kubernetes.io/config.source'], 'file');
    assert.equal(a['kubernetes.io/config.hash'], p.uid);
    assert.equal(a['kubernetes.io/config.seen'], '2026-01-01T00:00:00.000Z');
    assert.equal(p.pod.metadata!.uid, p.uid);
    assert.equal(p.hash, p.uid);
    assert.match(p.uid, /^[0-9a-f]{32}$/);
    const noNs = manifest();
    delete (noNs.metadata as Record<string, unknown>).namespace;
    assert.equal(resolve(noNs).namespace, 'default');
  });

  it('applies the kubelet-visible API defaults', () => {
    const pod: V1Pod = resolve(manifest()).pod;
    const spec = pod.spec!;
    assert.equal(spec.restartPolicy, 'Always');
    assert.equal(spec.terminationGracePeriodSeconds, 30);
    assert.equal(spec.dnsPolicy, 'ClusterFirst');
    assert.equal(spec.schedulerName, 'default-scheduler');
    assert.deepEqual(spec.tolerations, [{ operator: 'Exists', effect: 'NoExecute' }]);
    const c = spec.containers[0]!;
    assert.equal(c.terminationMessagePath, '/dev/termination-log');
    assert.equal(c.terminationMessagePolicy, 'File');
    assert.equal(c.imagePullPolicy, 'IfNotPresent');
    assert.equal(c.ports![0]!.protocol, 'TCP');
    assert.deepEqual(
      [c.livenessProbe!.timeoutSeconds, c.livenessProbe!.periodSeconds, c.livenessProbe!.successThreshold, c.livenessProbe!.failureThreshold],
      [1, 10, 1, 3],
    );
    assert.equal(c.livenessProbe!.httpGet!.scheme, 'HTTP');
    assert.equal(c.livenessProbe!.httpGet!.path, '/livez');
  });

  it('pull policy: Always for :latest or no tag', () => {
    assert.equal(defaultPullPolicy('busybox'), 'Always');
    assert.equal(defaultPullPolicy('busybox:latest'), 'Always');
    assert.equal(defaultPullPolicy('localhost:5000/busybox'), 'Always');
    assert.equal(defaultPullPolicy('localhost:5000/busybox:1.36'), 'IfNotPresent');
    assert.equal(defaultPullPolicy('busybox@sha256:abc'), 'IfNotPresent');
  });

  it('the UID is stable: same content in any key order → same UID; content, path or node change it', () => {
    const a = resolve(manifest()).uid;
    const reordered = JSON.parse(canonicalJson(manifest())) as unknown; // keys sorted: a different order than written
    assert.equal(resolve(reordered).uid, a);
    assert.equal(resolve(manifest()).uid, a, 'deterministic');
    const edited = manifest();
    (edited.spec as { containers: { image: string }[] }).containers[0]!.image = 'registry.k8s.io/etcd:3.6.5-0';
    assert.notEqual(resolve(edited).uid, a);
    assert.notEqual(resolve(manifest(), '/etc/kubernetes/manifests/etcd2.yaml').uid, a);
    assert.notEqual(resolve(manifest(), undefined, 'node-2').uid, a);
    // The seen time is not part of the identity.
    assert.equal(
      resolveStaticPod({ manifest: manifest(), source: 'file', origin: '/etc/kubernetes/manifests/etcd.yaml', nodeName: 'Node-1', seen: new Date() }).uid,
      a,
    );
    // A fixed expectation guards against accidental changes of the hash input (would restart every pod on upgrade).
    assert.equal(podUid('n', 'file', '/m/p.yaml', { a: 1 }), podUid('n', 'file', '/m/p.yaml', { a: 1 }));
    assert.equal(podUid('n', 'http', 'http://x/', { a: 1 }), podUid('other', 'http', 'http://x/', { a: 1 }), 'http UIDs do not depend on the node');
  });

  it('does not modify the manifest it was given', () => {
    const m = manifest();
    const before = canonicalJson(m);
    resolve(m);
    assert.equal(canonicalJson(m), before);
  });

  /** The manifest's shape, as far as the cases below touch it. */
  interface M {
    kind?: string;
    apiVersion?: string;
    metadata: { name?: string };
    spec: {
      restartPolicy?: string;
      containers: { name: string; image?: string; volumeMounts?: { name: string }[]; ports?: { containerPort: number }[] }[];
      volumes: { name: string; hostPath?: { path: string }; secret?: { secretName: string } }[];
    };
  }
  const bad: [string, (m: M) => void, string, RegExp][] = [
    ['kind PodList', (m) => (m.kind = 'PodList'), 'kind', /Unsupported value: "PodList".*one Pod per file/],
    ['apiVersion', (m) => (m.apiVersion = 'v2'), 'apiVersion', /Unsupported value: "v2": supported values: "v1"/],
    ['no name', (m) => delete m.metadata.name, 'metadata.name', /Required value/],
    ['bad name', (m) => (m.metadata.name = 'Etcd_1'), 'metadata.name', /Invalid value: "Etcd_1": a lowercase RFC 1123 subdomain/],
    ['no containers', (m) => (m.spec.containers = []), 'spec.containers', /Required value/],
    ['no image', (m) => delete m.spec.containers[0]!.image, 'spec.containers[0].image', /Required value/],
    ['duplicate container', (m) => m.spec.containers.push({ name: 'etcd', image: 'x:1' }), 'spec.containers[1].name', /Duplicate value: "etcd"/],
    ['relative hostPath', (m) => (m.spec.volumes[0]!.hostPath!.path = 'var/lib'), 'spec.volumes[0].hostPath.path', /must be an absolute path/],
    ['unknown volume mount', (m) => (m.spec.containers[0]!.volumeMounts![0]!.name = 'nope'), 'spec.containers[0].volumeMounts[0].name', /Not found: "nope"/],
    ['secret volume', (m) => m.spec.volumes.push({ name: 's', secret: { secretName: 'x' } }), 'spec.volumes[1].secret', /cannot use secret/],
    ['bad restartPolicy', (m) => (m.spec.restartPolicy = 'Sometimes'), 'spec.restartPolicy', /Sometimes/],
    [
      'bad port',
      (m) => (m.spec.containers[0]!.ports![0]!.containerPort = 70000),
      'spec.containers[0].ports[0].containerPort',
      /must be between 1 and 65535, inclusive/,
    ],
  ];
  for (const [what, mutate, field, message] of bad) {
    it(`refuses ${what}, naming file and field`, () => {
      const m = manifest() as unknown as M;
      mutate(m);
      const err = manifestError(() => validateManifest(m, '/m/etcd.yaml'));
      assert.equal(err.file, '/m/etcd.yaml');
      assert.equal(err.field, field);
      assert.match(err.oneLine(), message);
      assert.ok(err.oneLine().startsWith(`/m/etcd.yaml: ${field}: `), err.oneLine());
    });
  }

  it('decodes one YAML or JSON document; more than one is refused', () => {
    assert.deepEqual(decodeDocument('a: 1\nb: "2026-01-01"\nc: 2026-01-01\n---\n', '/m/x.yaml'), { a: 1, b: '2026-01-01', c: '2026-01-01' });
    assert.deepEqual(decodeDocument(Buffer.from('{"a": [1]}'), '/m/x.json'), { a: [1] });
    assert.match(
      manifestError(() => decodeDocument('a: 1\n---\nb: 2\n', '/m/x.yaml')).oneLine(),
      /^\/m\/x\.yaml: holds 2 YAML documents \(put one Pod per file\)$/,
    );
    assert.match(manifestError(() => decodeDocument('a: [1\n', '/m/x.yaml')).oneLine(), /^\/m\/x\.yaml: is not valid YAML: .*line/);
    assert.match(manifestError(() => decodeDocument('  \n', '/m/x.yaml')).oneLine(), /is empty/);
  });
});
