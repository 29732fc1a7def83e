/**
 * Every row of the pod validation table (src/pod/validation/rules.ts) against upstream's own example
 * values (k8s.io/kubernetes v1.37.2 validation_test.go, apimachinery v0.37.2 validation tests):
 * each valid example passes the row, each invalid one fails it, reported at its field.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveStaticPod } from '../../src/agent/identity.js';
import { ManifestError } from '../../src/errors.js';
import { RULES, validatePodDocument, PodValidationError, type Rule } from '../../src/pod/validation/index.js';

/** A valid pod that gives every example path a place: two containers, an init container, two volumes. */
function base(): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', labels: { k: 'v' }, annotations: { k: 'v' } },
    spec: {
      hostNetwork: true,
      containers: [
        {
          name: 'app',
          image: 'busybox:1.36',
          command: ['sleep', '1000'],
          ports: [{ containerPort: 8080, name: 'http' }, { containerPort: 9090 }],
          env: [{ name: 'A' }],
          volumeMounts: [
            { name: 'data', mountPath: '/foo' },
            { name: 'data', mountPath: '/bar2' },
          ],
          resources: { limits: { cpu: '1' } },
          securityContext: {},
          livenessProbe: { httpGet: { port: 8080, path: '/healthz' } },
          readinessProbe: { tcpSocket: { port: 'http' } },
        },
        { name: 'side', image: 'busybox', ports: [{ containerPort: 10250 }] },
      ],
      initContainers: [{ name: 'init', image: 'busybox' }],
      volumes: [
        { name: 'data', hostPath: { path: '/var/lib/data' } },
        { name: 'scratch', emptyDir: {} },
      ],
      securityContext: { sysctls: [{ name: 'net.ipv4.ip_forward', value: '1' }] },
    },
  };
}

/** Sets `path` (`a.b[0].c`, `limits[cpu]`) in `obj`, creating what is missing. */
function setAt(obj: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const tokens = [...path.matchAll(/([^.[\]]+)|\[([^\]]+)\]/g)].map((m) => (m[1] !== undefined ? m[1] : /^\d+$/.test(m[2]!) ? Number(m[2]) : m[2]!));
  let node: Record<string | number, unknown> = obj;
  tokens.forEach((t, i) => {
    if (i === tokens.length - 1) {
      node[t] = value;
      return;
    }
    if (node[t] === undefined || node[t] === null) node[t] = typeof tokens[i + 1] === 'number' ? [] : {};
    node = node[t] as Record<string | number, unknown>;
  });
  return obj;
}

const exampleAt = (rule: Rule): string => rule.examples.at ?? (typeof rule.at === 'string' ? rule.at : rule.at[0]!).replace(/\[\*\]/g, '[0]');
const show = (v: unknown): string =>
  (typeof v === 'string' && v.length > 40 ? `${JSON.stringify(v.slice(0, 20))}… (${v.length} chars)` : (JSON.stringify(v) ?? String(v))).slice(0, 80);

describe('pod validation rules (upstream examples)', () => {
  it('the base pod is valid', () => {
    assert.deepEqual(validatePodDocument(base()), []);
  });

  it('every rule carries upstream examples and an invalid one', () => {
    for (const rule of RULES) assert.ok(rule.examples.invalid.length > 0, `${rule.id} has no invalid example`);
    assert.equal(new Set(RULES.map((r) => r.id)).size, RULES.length, 'rule ids are unique');
  });

  for (const rule of RULES) {
    const at = exampleAt(rule);
    describe(`${rule.id} (${rule.upstream})`, () => {
      for (const value of rule.examples.valid) {
        it(`accepts ${show(value)} at ${at}`, () => {
          const found = validatePodDocument(setAt(base(), at, value)).filter((v) => v.rule === rule.id);
          assert.deepEqual(found, []);
        });
      }
      for (const value of rule.examples.invalid) {
        it(`refuses ${show(value)} at ${at}`, () => {
          const all = validatePodDocument(setAt(base(), at, value));
          const found = all.filter((v) => v.rule === rule.id);
          assert.ok(found.length > 0, `expected a ${rule.id} violation, got ${JSON.stringify(all)}`);
          for (const v of found) assert.ok(v.field.startsWith(at) || at.startsWith(v.field), `${v.field} is not at ${at}`);
        });
      }
    });
  }
});

describe('pod validation reports', () => {
  it('every violation, one line each, naming file and field', () => {
    const pod = base();
    setAt(pod, 'spec.containers[0].env[0].name', 'a=b');
    setAt(pod, 'spec.containers[0].ports[0].containerPort', 70000);
    setAt(pod, 'spec.restartPolicy', 'Sometimes');
    const err = new PodValidationError(validatePodDocument(pod), '/m/web.yaml');
    assert.ok(err instanceof ManifestError);
    assert.deepEqual(err.oneLine().split('\n'), [
      '/m/web.yaml: spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
      `/m/web.yaml: spec.containers[0].env[0].name: Invalid value: "a=b": a valid environment variable name must consist only of printable ASCII characters other than '='`,
      '/m/web.yaml: spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    ]);
  });

  it('a type error stops before the defaults, naming the field', () => {
    const pod = setAt(base(), 'spec.containers[0].ports', 'http');
    assert.deepEqual(validatePodDocument(pod), [{ field: 'spec.containers[0].ports', rule: 'ports', message: 'Invalid value: "http": must be a list' }]);
  });

  it('the agent validates the mirror pod: the node suffix counts toward the name', () => {
    const manifest = setAt(base(), 'metadata.name', 'a'.repeat(250));
    assert.equal(validatePodDocument(manifest).length, 0);
    assert.throws(
      () => resolveStaticPod({ manifest, source: 'file', origin: '/m/long.yaml', nodeName: 'node-1', seen: new Date() }),
      (err: unknown) =>
        err instanceof PodValidationError &&
        /^\/m\/long\.yaml: metadata\.name: Invalid value: "a{250}-node-1": must be no more than 253 characters$/.test(err.oneLine()),
    );
  });
});
