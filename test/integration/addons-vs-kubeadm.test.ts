/**
 * Interop with the real kubeadm of the suite's version ($KUBESTRAP_K8S_VERSION): both CLIs run
 * `init phase addon all --dry-run --config <file>` for each configuration of CASES, and every object
 * their dry-run output attaches ("[dryrun] Attached object:" + YAML) is compared field by field, in
 * order. kubeadm's dry-run client is given an admin.conf for https://127.0.0.1:1 (it tries the real
 * object first, gets connection refused on loopback, and falls back to its fake tracker); nothing
 * else is contacted and no component runs, so the real-test lock is not needed.
 *
 * Deliberate differences, checked and then filtered (everything else must be equal):
 *  - our CoreDNS Deployment and kube-proxy DaemonSet carry a required node affinity
 *    `node.kubestrap.io/static-pods-only DoesNotExist` (the agent's nodes run static pods only);
 *  - kubeadm marshals the whole KubeProxyConfiguration struct, zero values included; ours has the
 *    fields kubeadm sets. Each of our fields must equal kubeadm's, each of kubeadm's others must be
 *    a zero value (what kube-proxy defaults anyway). The checksum annotation differs with the text:
 *    each side's must be kubeadm's ChecksumForConfigMap of its own data;
 *  - Go's zero-valued `status` and `resources: {}` that kubeadm's typed objects print.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { COMPONENT_CONFIG_HASH_ANNOTATION, componentConfigHash } from '../../src/config/componentconfig/hash.js';
import { components, componentsReady, suiteRelease } from '../support/components.js';
import { buildCli, REPO } from '../support/init-e2e.js';

const exec = promisify(execFile);
const STATIC_PODS_ONLY_TERM = [{ matchExpressions: [{ key: 'node.kubestrap.io/static-pods-only', operator: 'DoesNotExist' }] }];

const CASES: readonly { name: string; advertise: string; cluster: string }[] = [
  { name: 'defaults with a pod subnet', advertise: '10.0.0.1', cluster: 'networking:\n  podSubnet: 10.244.0.0/16\n' },
  {
    name: 'own registry, DNS domain, service range, endpoint',
    advertise: '10.0.0.1',
    cluster: `imageRepository: mirror.local/k8s
controlPlaneEndpoint: cp.lab.example:8443
networking:
  podSubnet: 192.168.0.0/16
  serviceSubnet: 10.100.0.0/16
  dnsDomain: lab.example
`,
  },
  { name: 'no pod subnet, IPv6 advertise address', advertise: 'fd00::10', cluster: 'networking:\n  serviceSubnet: fd00:10:96::/108\n' },
];

function configYaml(c: (typeof CASES)[number]): string {
  return `apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: ${c.advertise}
nodeRegistration:
  name: cp1
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: ${suiteRelease().version}
${c.cluster}`;
}

const DUMMY_ADMIN = `apiVersion: v1
kind: Config
clusters:
- cluster: {server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}
  name: none
contexts:
- context: {cluster: none, user: none}
  name: none
current-context: none
users:
- name: none
  user: {token: none}
`;

type Obj = Record<string, unknown> & { kind: string; metadata: { name: string; annotations?: Record<string, string> } };

/** The objects a dry run attached, in order: the YAML after each "Attached object:" line. */
function attachedObjects(stdout: string): Obj[] {
  const out: Obj[] = [];
  let current: string[] | undefined;
  const flush = (): void => {
    if (current) out.push(parse(current.join('\n')) as Obj);
    current = undefined;
  };
  for (const line of stdout.split('\n')) {
    if (line.startsWith('[')) {
      flush();
      if (line === '[dryrun] Attached object:') current = [];
    } else current?.push(line);
  }
  flush();
  return out;
}

/** An environment without *_proxy variables: kubeadm and we both pass them to kube-proxy. */
function plainEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().endsWith('_proxy')));
}

const isZero = (v: unknown): boolean =>
  v === null ||
  v === '' ||
  v === 0 ||
  v === false ||
  v === '0s' ||
  v === '0' ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === 'object' && v !== null && Object.values(v).every(isZero));

/** Our KubeProxyConfiguration against kubeadm's: ours ⊆ kubeadm's, kubeadm's rest zero. */
function compareProxyConfig(ours: Record<string, unknown>, theirs: Record<string, unknown>, where: string): void {
  for (const [k, v] of Object.entries(theirs)) {
    if (!(k in ours)) {
      assert.ok(isZero(v), `${where}.${k}: kubeadm sets ${JSON.stringify(v)}, we leave it out`);
    } else if (v && typeof v === 'object' && !Array.isArray(v)) {
      compareProxyConfig(ours[k] as Record<string, unknown>, v as Record<string, unknown>, `${where}.${k}`);
    } else {
      assert.deepEqual(ours[k], v, `${where}.${k}`);
    }
  }
  for (const k of Object.keys(ours)) assert.ok(k in theirs, `${where}.${k}: kubeadm has no such field`);
}

/** Strips our one deviation after checking it, and Go's zero values from kubeadm's. */
function normalize(obj: Obj, side: 'kubeadm' | 'kubestrap'): Obj {
  const copy = structuredClone(obj) as Obj & { spec?: { template?: { spec?: Record<string, unknown> } } };
  delete copy.status;
  const pod = copy.spec?.template?.spec;
  if (pod) {
    for (const c of (pod.containers as Record<string, unknown>[] | undefined) ?? []) {
      if (c.resources && Object.keys(c.resources).length === 0) delete c.resources;
    }
    if (side === 'kubestrap') {
      const affinity = pod.affinity as Record<string, unknown> & {
        nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms: unknown } };
      };
      assert.deepEqual(
        affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms,
        STATIC_PODS_ONLY_TERM,
        `${obj.kind} node affinity`,
      );
      delete affinity.nodeAffinity;
      if (Object.keys(affinity).length === 0) delete pod.affinity;
    }
  }
  if (copy.kind === 'ConfigMap' && copy.metadata.name === 'kube-proxy') {
    const data = copy.data as Record<string, string>;
    const hash = copy.metadata.annotations?.[COMPONENT_CONFIG_HASH_ANNOTATION];
    assert.equal(hash, componentConfigHash(data), `${side}: the checksum of its own kube-proxy ConfigMap`);
    delete copy.metadata.annotations;
    data['config.conf'] = '(compared apart)';
  }
  return copy;
}

describe('addon phase vs the real kubeadm', { skip: !componentsReady() && 'components not prepared' }, () => {
  let dir: string;
  const results = new Map<string, { kubeadm: Obj[]; kubestrap: Obj[] }>();

  before(async () => {
    await buildCli();
    dir = await mkdtemp(path.join(tmpdir(), 'addons-vs-kubeadm-'));
    for (const [i, c] of CASES.entries()) {
      const caseDir = path.join(dir, String(i));
      await mkdir(path.join(caseDir, 'dryrun'), { recursive: true });
      await mkdir(path.join(caseDir, 'rootfs'));
      await writeFile(path.join(caseDir, 'dryrun', 'admin.conf'), DUMMY_ADMIN);
      const cfg = path.join(caseDir, 'kubeadm.yaml');
      await writeFile(cfg, configYaml(c));
      const env = plainEnv();
      const theirs = await exec(components().binaries.kubeadm.path, ['init', 'phase', 'addon', 'all', '--dry-run', '--config', cfg], {
        env: { ...env, KUBEADM_INIT_DRYRUN_DIR: path.join(caseDir, 'dryrun') },
        maxBuffer: 4 << 20,
      });
      const ours = await exec(
        process.execPath,
        [path.join(REPO, 'bin/kubestrap.js'), 'init', 'phase', 'addon', 'all', '--dry-run', '--config', cfg, '--rootfs', path.join(caseDir, 'rootfs')],
        { env, maxBuffer: 4 << 20 },
      );
      results.set(c.name, { kubeadm: attachedObjects(theirs.stdout), kubestrap: attachedObjects(ours.stdout) });
    }
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const c of CASES) {
    it(`${c.name}: the same objects, in the same order, field by field`, () => {
      const { kubeadm, kubestrap } = results.get(c.name)!;
      const list = (objs: Obj[]): string[] => objs.map((o) => `${o.kind}/${o.metadata.name}`);
      assert.equal(kubeadm.length, 12, `kubeadm attached ${list(kubeadm).join(', ')}`);
      assert.deepEqual(list(kubestrap), list(kubeadm));
      for (const [i, theirs] of kubeadm.entries()) {
        const ours = kubestrap[i]!;
        assert.deepEqual(normalize(ours, 'kubestrap'), normalize(theirs, 'kubeadm'), `${theirs.kind}/${theirs.metadata.name}`);
      }
      const conf = (objs: Obj[]): Record<string, unknown> =>
        parse((objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'kube-proxy')!.data as Record<string, string>)['config.conf']!) as Record<
          string,
          unknown
        >;
      compareProxyConfig(conf(kubestrap), conf(kubeadm), 'config.conf');
    });
  }
});
