/**
 * Interop with the real kubeadm of the suite's version (built by the harness, $KUBESTRAP_K8S_VERSION):
 * for each configuration of CASES (node cp1, advertise address 10.0.0.1, podSubnet 10.244.0.0/16;
 * kubeadm's defaults, then ECDSA-P256 with most fields that change what is written, then ECDSA-P384)
 * both CLIs run the offline phases — `init phase control-plane all`, `init phase etcd local`,
 * `init phase certs all`, `init phase kubeconfig all` — each in its own rootfs (kubeadm chroots into
 * it with --rootfs); both also print `config images list` for the version and `config print
 * init-defaults`. Then the outputs are compared field by field. No component is started, so the
 * real-test lock is not needed. Needs root (chroot).
 *
 * Deliberate differences, filtered before comparing (everything else must be equal):
 *  - the static pods' `kubestrap.io/*` annotations, our agent's start and stop order
 *    (src/agent/start-order.ts): `kubestrap.io/depends-on` on kube-apiserver (etcd's /readyz: stop
 *    it before etcd) and `kubestrap.io/start-after` on the controller-manager and the scheduler
 *    (start once kube-apiserver's /livez answers). A kubelet ignores them.
 *  - kube-apiserver's `--enable-aggregator-routing=true` (OUR_FLAGS): webhooks and aggregated APIs
 *    are dialled at their endpoints, because the agent's node runs no kube-proxy.
 *  - `config print init-defaults`: the kubernetesVersion (see its test).
 *  - certificates differ only where kubeadm's are random too: keys, serial numbers, signatures, and
 *    the start time the validity counts from (the validity length is compared).
 */
// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API first.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout } from 'node:timers/promises';
import { promisify } from 'node:util';
import * as x509 from '@peculiar/x509';
import { parse, parseAllDocuments } from 'yaml';
import { subjectKeyId } from '../../src/pki/certificate.js';
import { components, componentsReady, suiteRelease } from '../support/components.js';
import { buildCli, REPO } from '../support/init-e2e.js';

const exec = promisify(execFile);
const root = process.getuid?.() === 0;
const CONFIG = 'kubeadm.yaml';
const PHASES = [
  ['control-plane', 'all'],
  ['etcd', 'local'],
  ['certs', 'all'],
  ['kubeconfig', 'all'],
] as const;
const MANIFESTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;
const KUBECONFIGS = ['admin.conf', 'super-admin.conf', 'kubelet.conf', 'controller-manager.conf', 'scheduler.conf'] as const;
const OUR_ANNOTATION_PREFIX = 'kubestrap.io/';

/** An InitConfiguration for node cp1 advertising 10.0.0.1, with `more` under localAPIEndpoint. */
function initYaml(more = ''): string {
  return `apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: 10.0.0.1
${more}nodeRegistration:
  name: cp1
`;
}

/** The configurations compared: kubeadm's defaults, then most fields that change what is written. */
const CASES: readonly { name: string; init: string; cluster: string; dataDir: string }[] = [
  {
    name: 'defaults (RSA-2048)',
    init: initYaml(),
    cluster: `networking:
  podSubnet: 10.244.0.0/16
`,
    dataDir: 'var/lib/etcd',
  },
  {
    name: 'ECDSA-P256, endpoint, extra args, SANs, volumes',
    // the endpoint's port wins over bindPort in the kubeconfigs (kubeadm warns), not in the manifests
    init: initYaml('  bindPort: 7443\n'),
    cluster: `controlPlaneEndpoint: cp.example.com:8443
clusterName: demo
encryptionAlgorithm: ECDSA-P256
networking:
  podSubnet: 10.244.0.0/16
  serviceSubnet: 10.100.0.0/16
  dnsDomain: corp.local
apiServer:
  certSANs: [api.example.com, 192.168.1.10]
  extraArgs:
  - name: audit-log-maxage
    value: "7"
  - name: authorization-mode
    value: Node,RBAC
  extraVolumes:
  - name: audit
    hostPath: /var/log/audit
    mountPath: /var/log/audit
    pathType: DirectoryOrCreate
controllerManager:
  extraArgs:
  - name: bind-address
    value: 0.0.0.0
scheduler:
  extraArgs:
  - name: v
    value: "2"
etcd:
  local:
    dataDir: /data/etcd
    extraArgs:
    - name: quota-backend-bytes
      value: "8589934592"
    serverCertSANs: [etcd.example.com]
`,
    dataDir: 'data/etcd',
  },
  {
    // P-384 keys: Go picks ECDSAWithSHA384 for the signer's key
    name: 'ECDSA-P384',
    init: initYaml(),
    cluster: `encryptionAlgorithm: ECDSA-P384
networking:
  podSubnet: 10.244.0.0/16
`,
    dataDir: 'var/lib/etcd',
  },
];

function configYaml(c: (typeof CASES)[number], version: string): string {
  return `${c.init}---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: ${version}
${c.cluster}`;
}

const SIDES = ['kubeadm', 'kubestrap'] as const;
type Side = (typeof SIDES)[number];
/** The rootfs each side wrote into. */
type Rootfs = Record<Side, string>;

async function kubeadm(args: readonly string[]): Promise<string> {
  return (await exec(components().binaries.kubeadm.path, args, { maxBuffer: 4 << 20 })).stdout;
}

async function kubestrap(args: readonly string[]): Promise<string> {
  return (await exec(process.execPath, [path.join(REPO, 'bin/kubestrap.js'), ...args], { cwd: REPO, maxBuffer: 4 << 20 })).stdout;
}

const read = (rootfs: Rootfs, side: Side, file: string): Promise<string> => readFile(path.join(rootfs[side], file), 'utf8');

/** Both sides' files under `dir` (relative to the rootfs), which must be the same set. */
async function sameFiles(rootfs: Rootfs, sub: string): Promise<string[]> {
  const list = async (side: Side): Promise<string[]> =>
    (await readdir(path.join(rootfs[side], sub), { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => path.relative(rootfs[side], path.join(e.parentPath, e.name)))
      .sort();
  const [theirs, ours] = [await list('kubeadm'), await list('kubestrap')];
  assert.deepEqual(ours, theirs, `files under ${sub}`);
  return theirs;
}

async function mode(rootfs: Rootfs, side: Side, file: string): Promise<string> {
  return ((await stat(path.join(rootfs[side], file))).mode & 0o7777).toString(8);
}

type Json = Record<string, unknown>;

/** Flags kubestrap adds to kubeadm's, per container. */
const OUR_FLAGS: Readonly<Record<string, readonly string[]>> = { 'kube-apiserver': ['--enable-aggregator-routing=true'] };

/** A static pod with our own annotations (an annotations map left empty goes too) and flags removed. */
function withoutOurAnnotations(pod: Json): Json {
  const metadata = { ...(pod.metadata as Json) };
  const annotations = Object.entries((metadata.annotations as Record<string, string> | undefined) ?? {}).filter(([k]) => !k.startsWith(OUR_ANNOTATION_PREFIX));
  if (annotations.length) metadata.annotations = Object.fromEntries(annotations);
  else delete metadata.annotations;
  const podSpec = { ...spec(pod) };
  podSpec.containers = containers(pod).map((c) => {
    const ours = OUR_FLAGS[c.name as string] ?? [];
    return Array.isArray(c.command) ? { ...c, command: (c.command as string[]).filter((a) => !ours.includes(a)) } : c;
  });
  return { ...pod, metadata, spec: podSpec };
}

/** The pod fields the issue names, one by one, so a failure says which field differs. */
const POD_FIELDS: readonly [string, (pod: Json) => unknown][] = [
  ['metadata', (p) => p.metadata],
  ['spec.hostNetwork', (p) => spec(p).hostNetwork],
  ['spec.priority', (p) => spec(p).priority],
  ['spec.priorityClassName', (p) => spec(p).priorityClassName],
  ['spec.securityContext', (p) => spec(p).securityContext],
  ['spec.volumes', (p) => spec(p).volumes],
];
const CONTAINER_FIELDS = [
  'name',
  'image',
  'imagePullPolicy',
  'command',
  'args',
  'env',
  'ports',
  'livenessProbe',
  'readinessProbe',
  'startupProbe',
  'resources',
  'volumeMounts',
  'securityContext',
] as const;

function spec(pod: Json): Json {
  return pod.spec as Json;
}

function containers(pod: Json): Json[] {
  return spec(pod).containers as Json[];
}

/** The parts of a certificate kubeadm does not pick at random. */
interface CertFacts {
  subject: string;
  issuer: string;
  validitySeconds: number;
  publicKey: unknown;
  signatureAlgorithm: unknown;
  /** OID and criticality of every extension, in order. */
  extensions: string[];
  keyUsages?: number;
  extKeyUsages?: string[];
  basicConstraints?: { ca: boolean; pathLength?: number };
  subjectAltNames?: unknown;
  /** How the SubjectKeyId was derived (Go 1.25+: SHA-256 of the key, first 160 bits). */
  subjectKeyIdMethod?: string;
  /** Whether the AuthorityKeyId is the issuer's SubjectKeyId. */
  authorityKeyIdIsIssuerSki?: boolean;
}

async function certFacts(pem: string, issuerPem: string | undefined): Promise<CertFacts> {
  const cert = new x509.X509Certificate(pem);
  const facts: CertFacts = {
    subject: cert.subject,
    issuer: cert.issuer,
    validitySeconds: (cert.notAfter.getTime() - cert.notBefore.getTime()) / 1000,
    publicKey: cert.publicKey.algorithm,
    signatureAlgorithm: cert.signatureAlgorithm,
    extensions: cert.extensions.map((e) => `${e.type}${e.critical ? ' critical' : ''}`),
  };
  for (const ext of cert.extensions) {
    if (ext instanceof x509.KeyUsagesExtension) facts.keyUsages = ext.usages;
    else if (ext instanceof x509.ExtendedKeyUsageExtension) facts.extKeyUsages = ext.usages.map(String);
    else if (ext instanceof x509.BasicConstraintsExtension) facts.basicConstraints = { ca: ext.ca, pathLength: ext.pathLength };
    else if (ext instanceof x509.SubjectAlternativeNameExtension) facts.subjectAltNames = ext.names.toJSON();
    else if (ext instanceof x509.SubjectKeyIdentifierExtension) {
      const sha256 = await subjectKeyId(Buffer.from(cert.publicKey.rawData));
      facts.subjectKeyIdMethod = ext.keyId === sha256 ? 'sha256/160' : `other (${ext.keyId})`;
    } else if (ext instanceof x509.AuthorityKeyIdentifierExtension && issuerPem) {
      const issuerSki = new x509.X509Certificate(issuerPem).getExtension(x509.SubjectKeyIdentifierExtension);
      facts.authorityKeyIdIsIssuerSki = ext.keyId === issuerSki?.keyId;
    }
  }
  return facts;
}

/** The CA certificate that signed `crt` (a path under /etc/kubernetes/pki), read from the same side. */
function issuerFile(crt: string): string | undefined {
  const name = path.basename(crt, '.crt');
  if (name === 'ca' || name === 'front-proxy-ca') return undefined;
  if (crt.includes('/etcd/')) return 'etc/kubernetes/pki/etcd/ca.crt';
  if (name === 'front-proxy-client') return 'etc/kubernetes/pki/front-proxy-ca.crt';
  return 'etc/kubernetes/pki/ca.crt';
}

/** A fingerprint of the PEM block types in a key file (`RSA PRIVATE KEY`, `EC PRIVATE KEY`, `PUBLIC KEY`). */
function pemTypes(text: string): string[] {
  return [...text.matchAll(/-----BEGIN ([A-Z ]+)-----/g)].map((m) => m[1]!);
}

const skip = (!root && 'needs root (kubeadm --rootfs chroots)') || (!componentsReady() && 'components not prepared');

describe(`kubestrap's offline phases against kubeadm ${suiteRelease().version}`, { skip }, () => {
  const version = suiteRelease().version;
  let dir = '';

  before(async () => {
    assert.equal(components().binaries.kubeadm.version, version, 'the harness built kubeadm of the suite version');
    await buildCli();
    dir = await mkdtemp(path.join(tmpdir(), 'kubestrap-vs-kubeadm-'));
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('config images list: the same images', async () => {
    const lines = (text: string): string[] => text.trim().split('\n');
    const theirs = lines(await kubeadm(['config', 'images', 'list', '--kubernetes-version', version]));
    const ours = lines(await kubestrap(['config', 'images', 'list', '--kubernetes-version', version]));
    assert.deepEqual(ours, theirs);
  });

  it('config print init-defaults: the same documents apart from kubernetesVersion', async () => {
    // kubeadm prints its minor's placeholder (`1.37.0`, constants.CurrentKubernetesVersion) and would
    // resolve `stable-1` online at init; we print the patch our version table pins, which is what our
    // init deploys without the field (resolved offline).
    const docs = (text: string): Json[] => parseAllDocuments(text).map((d) => d.toJS() as Json);
    const withoutVersion = (d: Json): Json => Object.fromEntries(Object.entries(d).filter(([k]) => k !== 'kubernetesVersion'));
    const theirs = docs(await kubeadm(['config', 'print', 'init-defaults']));
    const ours = docs(await kubestrap(['config', 'print', 'init-defaults']));
    assert.deepEqual(ours.map(withoutVersion), theirs.map(withoutVersion));
    assert.equal(theirs[1]?.kubernetesVersion, version.replace(/^v(\d+\.\d+)\..*/, '$1.0'), "kubeadm's placeholder");
  });

  CASES.forEach((c, n) => describe(c.name, () => compareCase(c, () => path.join(dir, String(n)), version)));
});

/** The phases of both CLIs for one configuration, then the comparisons. */
function compareCase(c: (typeof CASES)[number], caseDir: () => string, version: string): void {
  const rootfs: Rootfs = { kubeadm: '', kubestrap: '' };

  before(async () => {
    for (const side of SIDES) {
      rootfs[side] = path.join(caseDir(), side);
      await mkdir(rootfs[side], { recursive: true });
      await writeFile(path.join(rootfs[side], CONFIG), configYaml(c, version));
    }
    for (const phase of PHASES) {
      // The kubeconfig phase runs later than the certs phase that made the CA, by more than the
      // second X.509 times resolve, so which start a validity counts from shows.
      if (phase[0] === 'kubeconfig') await setTimeout(1100);
      // kubeadm chroots into --rootfs before it reads --config: the path is inside the rootfs.
      await kubeadm(['init', 'phase', ...phase, '--rootfs', rootfs.kubeadm, '--config', `/${CONFIG}`]);
      await kubestrap(['init', 'phase', ...phase, '--rootfs', rootfs.kubestrap, '--config', path.join(rootfs.kubestrap, CONFIG)]);
    }
  });

  it('writes the same files with the same modes', async () => {
    const dirs = ['etc/kubernetes', 'etc/kubernetes/manifests', 'etc/kubernetes/pki', 'etc/kubernetes/pki/etcd', c.dataDir];
    const files = [...(await sameFiles(rootfs, 'etc')), ...dirs];
    for (const file of files) assert.equal(await mode(rootfs, 'kubestrap', file), await mode(rootfs, 'kubeadm', file), `mode of /${file}`);
  });

  for (const name of MANIFESTS) {
    it(`${name}.yaml: the same static pod apart from kubestrap.io annotations and our flags`, async () => {
      const file = `etc/kubernetes/manifests/${name}.yaml`;
      const theirs = parse(await read(rootfs, 'kubeadm', file)) as Json;
      const ours = withoutOurAnnotations(parse(await read(rootfs, 'kubestrap', file)) as Json);
      for (const [field, get] of POD_FIELDS) assert.deepEqual(get(ours), get(theirs), `${name}: ${field}`);
      const [oc, tc] = [containers(ours), containers(theirs)];
      assert.equal(oc.length, tc.length, `${name}: number of containers`);
      tc.forEach((container, i) => {
        for (const field of CONTAINER_FIELDS) assert.deepEqual(oc[i]![field], container[field], `${name}: containers[${i}].${field}`);
      });
      // and nothing else differs (fields not listed above, status, apiVersion/kind)
      assert.deepEqual(ours, theirs, `${name}: whole manifest`);
    });
  }

  it('certs: the same subjects, SANs, usages, extensions and validity', async () => {
    const files = await sameFiles(rootfs, 'etc/kubernetes/pki');
    const crts = files.filter((f) => f.endsWith('.crt'));
    assert.equal(crts.length, 10, `3 CAs and 7 leaves: ${crts.join(' ')}`);
    for (const crt of crts) {
      const issuer = issuerFile(crt);
      const facts = async (side: Side): Promise<CertFacts> => certFacts(await read(rootfs, side, crt), issuer && (await read(rootfs, side, issuer)));
      assert.deepEqual(await facts('kubestrap'), await facts('kubeadm'), `/${crt}`);
    }
    for (const key of files.filter((f) => f.endsWith('.key') || f.endsWith('.pub'))) {
      assert.deepEqual(pemTypes(await read(rootfs, 'kubestrap', key)), pemTypes(await read(rootfs, 'kubeadm', key)), `PEM type of /${key}`);
    }
  });

  it('kubeconfigs: the same clusters, users, contexts and client certificates', async () => {
    const ca = 'etc/kubernetes/pki/ca.crt';
    for (const name of KUBECONFIGS) {
      const file = `etc/kubernetes/${name}`;
      const load = async (side: Side): Promise<{ shape: unknown; cert: unknown; caSame: boolean }> => {
        const kc = parse(await read(rootfs, side, file)) as Json;
        const users = kc.users as { name: string; user: Record<string, string> }[];
        const clusters = kc.clusters as { name: string; cluster: Record<string, string> }[];
        const certPem = Buffer.from(users[0]!.user['client-certificate-data']!, 'base64').toString();
        const caPem = Buffer.from(clusters[0]!.cluster['certificate-authority-data']!, 'base64').toString();
        const shape = {
          ...kc,
          clusters: clusters.map((c) => ({ name: c.name, server: c.cluster.server, fields: Object.keys(c.cluster) })),
          users: users.map((u) => ({ name: u.name, fields: Object.keys(u.user) })),
        };
        const sha = (pem: string): string =>
          createHash('sha256')
            .update(Buffer.from(new x509.X509Certificate(pem).rawData))
            .digest('hex');
        // NotAfter counts from the kubeconfig phase's start, NotBefore is the CA's (kubeadm's
        // NewSignedCert): the length depends on the time between the two commands, so compare those.
        const { validitySeconds: _, ...cert } = await certFacts(certPem, caPem);
        const [client, caCert] = [new x509.X509Certificate(certPem), new x509.X509Certificate(caPem)];
        const validity = {
          notBeforeIsTheCAs: client.notBefore.getTime() === caCert.notBefore.getTime(),
          daysLeft: Math.round((client.notAfter.getTime() - Date.now()) / 86_400_000),
        };
        return { shape, cert: { ...cert, validity }, caSame: sha(caPem) === sha(await read(rootfs, side, ca)) };
      };
      const [ours, theirs] = [await load('kubestrap'), await load('kubeadm')];
      assert.deepEqual(ours.shape, theirs.shape, `/${file}: structure`);
      assert.deepEqual(ours.cert, theirs.cert, `/${file}: client certificate`);
      assert.equal(ours.caSame, true, `/${file}: embeds our ca.crt`);
    }
  });
}
