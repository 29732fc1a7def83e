/**
 * Prepares the real components the integration and e2e tests run (`npm run prepare:components`),
 * for the suite's Kubernetes version ($KUBESTRAP_K8S_VERSION, default: the table's default):
 *   binaries  kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kubeadm, kubelet,
 *             kube-proxy, etcd (the
 *             version's wrapper Go modules k8s/v1.X and etcd/vA.B.C, built by build-binaries.sh),
 *             a static pause program and coredns (the wrapper module coredns/vX.Y.Z that
 *             COREDNS_BUILDS names for the row's CoreDNS),
 *   runtime   containerd + runc from Debian (installed when missing; crictl when packaged), Debian's
 *             CNI plugins (containernetworking-plugins, for the test bed's pod networks), HAProxy (the HA tests' load balancer), and
 *             containerd 2.x (containerd, its runc shim, ctr) from the wrapper Go module
 *             containerd/vX.Y.Z into ~/.cache/kubestrap-test/containerd-vX.Y.Z/ with its own
 *             containerd.json (one build for every Kubernetes version),
 *   images    OCI archives named like upstream, built with src/images, rebuilt only when the binary
 *             or recipe changes; kube-proxy's carries Debian's iptables and conntrack (with their
 *             libraries) like upstream's distroless-iptables base,
 * into ~/.cache/kubestrap-test/<k8s version>/ and records it all in components.json (read through
 * components.ts). Idempotent: a warm run only verifies and takes seconds.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { etcdVersionOfTag } from '../../src/config/images.js';
import type { KubernetesRelease } from '../../src/config/versions.js';
import { componentImageRef, componentImageSpec, recipeFingerprint } from '../../src/images/kubernetes.js';
import { writeImage } from '../../src/images/oci.js';
import { collectHostFiles, kubeProxyHostFiles, type CollectedFiles } from './host-files.js';
import {
  cacheRoot,
  COMPONENTS_FORMAT,
  COREDNS_BUILDS,
  CONTAINERD2_VERSION,
  CONTAINERD_BUILD_FORMAT,
  containerdBuildDir,
  suiteRelease,
  UPGRADE_PATH,
  type BinaryInfo,
  type BinaryName,
  type Components,
  type ContainerdBinaryName,
  type ContainerdBuild,
  type ImageInfo,
  type ImageName,
  type ToolInfo,
} from './components.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Bump when the image builder's output format changes, to rebuild every cached image. */
const IMAGE_BUILDER_VERSION = 1;

const started = Date.now();
function log(message: string): void {
  console.log(`[prepare ${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${message}`);
}

async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  const result = await fn();
  log(`${what}: done in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  return result;
}

/** The version a go.mod requires for `module` (single-line require or require block). */
async function goModVersion(goMod: string, module: string): Promise<string> {
  const text = await readFile(goMod, 'utf8');
  const escaped = module.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const match = new RegExp(`^(?:require\\s+)?\\s*${escaped}\\s+(v[^\\s]+)`, 'm').exec(text);
  if (!match?.[1]) throw new Error(`${goMod}: no require line for ${module}`);
  return match[1];
}

function run(command: string, args: readonly string[]): { ok: boolean; out: string } {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

/** Runs a command with its output streamed, prefixed; rejects on a non-zero exit. */
function stream(prefix: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    const relay = (chunk: Buffer): void => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) console.log(`${prefix} ${line}`);
    };
    child.stdout.on('data', relay);
    child.stderr.on('data', relay);
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited ${code}`))));
  });
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** One lock per cache dir, so two prepare runs never build at once (a dead holder's lock is taken over). */
async function lock(dir: string): Promise<() => Promise<void>> {
  const file = path.join(dir, '.prepare.lock');
  for (let waitedLogged = false; ;) {
    try {
      const fh = await open(file, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return () => rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      let alive = false;
      try {
        if (holder > 0) {
          process.kill(holder, 0);
          alive = true;
        }
      } catch {
        alive = false;
      }
      if (!alive) {
        await rm(file, { force: true });
        continue;
      }
      if (!waitedLogged) log(`waiting for another prepare (pid ${holder}) to finish`);
      waitedLogged = true;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

interface BinarySpec<N extends string = BinaryName> {
  name: N;
  versionArgs: string[];
  /** Text a line of the version output must contain (that line is recorded as the version). */
  expect: string;
}

async function describeBinary(file: string, spec: BinarySpec<string>, previous: BinaryInfo | undefined): Promise<BinaryInfo | string> {
  if (!existsSync(file)) return 'missing';
  const r = run(file, spec.versionArgs);
  const line = r.out.split('\n').find((l) => l.includes(spec.expect));
  if (!r.ok || !line) return `version check failed (${r.out.split('\n')[0]?.slice(0, 120) || 'no output'})`;
  const st = await stat(file);
  const sha256 = previous && previous.size === st.size && previous.mtimeMs === st.mtimeMs ? previous.sha256 : await sha256File(file);
  return { path: file, sha256, size: st.size, mtimeMs: st.mtimeMs, version: line.trim() };
}

async function prepareBinaries<N extends string>(
  binDir: string,
  specs: BinarySpec<N>[],
  previous: Partial<Record<N, BinaryInfo>>,
  build: (missing: N[]) => Promise<void>,
): Promise<Partial<Record<N, BinaryInfo>>> {
  const found: Partial<Record<N, BinaryInfo>> = {};
  const missing: N[] = [];
  for (const spec of specs) {
    const file = path.join(binDir, spec.name);
    const info = await describeBinary(file, spec, previous[spec.name]);
    if (typeof info === 'string') {
      log(`${spec.name}: ${info}; will build`);
      await rm(file, { force: true }); // the build script skips binaries that exist
      missing.push(spec.name);
    } else {
      found[spec.name] = info;
    }
  }
  if (missing.length === 0) return found;
  await build(missing);
  for (const spec of specs) {
    if (found[spec.name]) continue;
    const info = await describeBinary(path.join(binDir, spec.name), spec, undefined);
    if (typeof info === 'string') throw new Error(`${spec.name} after build: ${info}`);
    found[spec.name] = info;
  }
  return found;
}

/** Writes a manifest atomically: a reader never sees half of one. */
async function writeManifest(file: string, value: object): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
  await rename(tmp, file);
}

/** The harness' Go build settings: local toolchain, static, no VCS stamping (module sources have none). */
const GO_ENV: NodeJS.ProcessEnv = { GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false' };

/** `go build` of one main package of a committed module into `out` (via a temp file: never half a binary). */
async function goBuild(moduleDir: string, pkg: string, out: string, opts: { ldflags: string; tags?: readonly string[] }): Promise<void> {
  const tags = opts.tags?.length ? [`-tags=${opts.tags.join(',')}`] : [];
  const tmp = `${out}.tmp`;
  await stream('[build]', 'go', ['build', '-C', moduleDir, '-trimpath', ...tags, `-ldflags=${opts.ldflags}`, '-o', tmp, pkg], { ...process.env, ...GO_ENV });
  await rename(tmp, out);
}

const CONTAINERD_PACKAGE = 'github.com/containerd/containerd/v2';
/**
 * containerd's Makefile flags for a static build: no cgo (so no btrfs; devmapper and zfs left out
 * too, the suite uses overlayfs or native), version stamped like a release.
 */
const CONTAINERD_TAGS = ['urfave_cli_no_docs', 'no_btrfs', 'no_devmapper', 'no_zfs'];
const containerdLdflags = (version: string): string =>
  `-s -w -X ${CONTAINERD_PACKAGE}/version.Version=${version} -X ${CONTAINERD_PACKAGE}/version.Package=${CONTAINERD_PACKAGE}`;

/** containerd 2.x from test/support/containerd/<version>/ into its own cache dir and containerd.json. */
export async function prepareContainerd2(): Promise<ContainerdBuild> {
  const version = CONTAINERD2_VERSION;
  const moduleDir = path.join(here, 'containerd', version);
  const pinned = await goModVersion(path.join(moduleDir, 'go.mod'), CONTAINERD_PACKAGE);
  if (pinned !== version) throw new Error(`${moduleDir}/go.mod pins containerd ${pinned} but components.ts says ${version}: make them agree`);
  const dir = containerdBuildDir(version);
  const binDir = path.join(dir, 'bin');
  const manifestFile = path.join(dir, 'containerd.json');
  await mkdir(binDir, { recursive: true });
  const unlock = await lock(dir);
  try {
    const parsed = (JSON.parse(await readFile(manifestFile, 'utf8').catch(() => '{}')) ?? {}) as Partial<ContainerdBuild>;
    const previous = parsed.format === CONTAINERD_BUILD_FORMAT ? parsed : {};
    const sourceHash = createHash('sha256')
      .update(await readFile(path.join(moduleDir, 'go.mod')))
      .update(await readFile(path.join(moduleDir, 'go.sum')))
      .update(JSON.stringify([CONTAINERD_TAGS, containerdLdflags(version), GO_ENV]))
      .digest('hex');
    const names: ContainerdBinaryName[] = ['containerd', 'containerd-shim-runc-v2', 'ctr'];
    if (previous.sourceHash !== sourceHash) for (const name of names) await rm(path.join(binDir, name), { force: true });
    const binaries = await prepareBinaries<ContainerdBinaryName>(
      binDir,
      [
        { name: 'containerd', versionArgs: ['--version'], expect: `${CONTAINERD_PACKAGE} ${version}` },
        { name: 'containerd-shim-runc-v2', versionArgs: ['-v'], expect: `Version:  ${version}` },
        { name: 'ctr', versionArgs: ['--version'], expect: `${CONTAINERD_PACKAGE} ${version}` },
      ],
      previous.binaries ?? {},
      (missing) =>
        timed(`containerd ${version} (${missing.join(', ')})`, async () => {
          for (const name of missing) {
            await goBuild(moduleDir, `${CONTAINERD_PACKAGE}/cmd/${name}`, path.join(binDir, name), {
              ldflags: containerdLdflags(version),
              tags: CONTAINERD_TAGS,
            });
          }
        }),
    );
    const build: ContainerdBuild = {
      format: CONTAINERD_BUILD_FORMAT,
      version,
      binDir,
      binaries: binaries as Record<ContainerdBinaryName, BinaryInfo>,
      sourceHash,
      preparedAt: new Date().toISOString(),
    };
    await writeManifest(manifestFile, build);
    return build;
  } finally {
    await unlock();
  }
}

/** CoreDNS's release build: static, `-version` printing the commit (none here: module sources have no VCS). */
const COREDNS_LDFLAGS = '-s -w -X github.com/coredns/coredns/coremain.GitCommit=0000000';

/** coredns for the row's CoreDNS tag, from the wrapper module COREDNS_BUILDS names, into binDir. */
async function prepareCoredns(
  binDir: string,
  imageTag: string,
  previous: Partial<Components>,
  prevBinaries: Partial<Record<BinaryName, BinaryInfo>>,
): Promise<{ binary: BinaryInfo; info: Components['coredns'] }> {
  const moduleVersion = COREDNS_BUILDS[imageTag];
  if (!moduleVersion) throw new Error(`COREDNS_BUILDS in test/support/components.ts names no CoreDNS module for ${imageTag}: add one`);
  const moduleDir = path.join(here, 'coredns', moduleVersion);
  const goMod = path.join(moduleDir, 'go.mod');
  if (!existsSync(goMod)) throw new Error(`${goMod} is missing: write it as the other coredns/ modules (go.mod, tools.go, go mod tidy) and commit it`);
  const pinned = await goModVersion(goMod, 'github.com/coredns/coredns');
  if (pinned !== moduleVersion) throw new Error(`${goMod} pins CoreDNS ${pinned} but COREDNS_BUILDS says ${moduleVersion}: make them agree`);
  const sourceHash = createHash('sha256')
    .update(await readFile(goMod))
    .update(await readFile(path.join(moduleDir, 'go.sum')))
    .update(JSON.stringify([COREDNS_LDFLAGS, GO_ENV]))
    .digest('hex');
  const file = path.join(binDir, 'coredns');
  if (previous.coredns?.sourceHash !== sourceHash) await rm(file, { force: true });
  const built = await prepareBinaries(binDir, [{ name: 'coredns', versionArgs: ['-version'], expect: `CoreDNS-${moduleVersion.slice(1)}` }], prevBinaries, () =>
    timed(`coredns ${moduleVersion}`, () => goBuild(moduleDir, 'github.com/coredns/coredns', file, { ldflags: COREDNS_LDFLAGS })),
  );
  return { binary: built.coredns!, info: { imageTag, moduleVersion, sourceHash } };
}

function tool(name: string, args: string[]): ToolInfo | undefined {
  const which = run('sh', ['-c', `command -v ${name}`]);
  if (!which.ok) return undefined;
  const r = run(which.out, args);
  return r.ok ? { path: which.out, version: r.out.split('\n')[0] ?? '' } : undefined;
}

async function ensureRuntime(): Promise<{ containerd: ToolInfo; runc: ToolInfo; ctr: ToolInfo; crictl: ToolInfo | null }> {
  let containerd = tool('containerd', ['--version']);
  let runc = tool('runc', ['--version']);
  if (!containerd || !runc) {
    if (process.getuid?.() !== 0) throw new Error('containerd/runc missing and not root: run `apt-get install -y containerd runc` as root');
    log('containerd/runc missing: apt-get install -y containerd runc');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    await stream('[apt]', 'apt-get', ['update', '-q'], env);
    await stream('[apt]', 'apt-get', ['install', '-y', '-q', '--no-install-recommends', 'containerd', 'runc'], env);
    containerd = tool('containerd', ['--version']);
    runc = tool('runc', ['--version']);
    if (!containerd || !runc) throw new Error('containerd/runc still missing after apt-get install');
  }
  const ctr = tool('ctr', ['--version']);
  if (!ctr) throw new Error('ctr (from the containerd package) not found');
  let crictl = tool('crictl', ['--version']) ?? null;
  if (!crictl) {
    const policy = run('apt-cache', ['policy', 'cri-tools']);
    const candidate = /Candidate:\s*(\S+)/.exec(policy.out)?.[1];
    if (candidate && candidate !== '(none)' && process.getuid?.() === 0) {
      await stream('[apt]', 'apt-get', ['install', '-y', '-q', 'cri-tools'], { ...process.env, DEBIAN_FRONTEND: 'noninteractive' });
      crictl = tool('crictl', ['--version']) ?? null;
    } else {
      log('crictl: cri-tools is not packaged for this Debian release; skipping (tests use src/cri)');
    }
  }
  return { containerd, runc, ctr, crictl };
}

/** Installs a Debian package when `file` (one of its files) is missing; returns the package's version. */
async function ensureDebianPackage(pkg: string, file: string): Promise<string> {
  if (!existsSync(file)) {
    if (process.getuid?.() !== 0) throw new Error(`${file} missing and not root: run \`apt-get install -y ${pkg}\` as root`);
    log(`${file} missing: apt-get install -y ${pkg}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    await stream('[apt]', 'apt-get', ['install', '-y', '-q', '--no-install-recommends', pkg], env);
    if (!existsSync(file)) throw new Error(`${file} still missing after apt-get install ${pkg}`);
  }
  const version = run('dpkg-query', ['-W', '-f', '${Version}', pkg]);
  return version.ok ? `${pkg} ${version.out}` : `${pkg} unknown`;
}

/** Debian's CNI plugins (bridge, host-local, loopback, ...) for the test bed's pod networks. */
const CNI_BIN_DIR = '/usr/lib/cni';

/** Debian's HAProxy: the test bed's load-balancer "VM" in front of several API servers (test/support/haproxy.ts). */
const HAPROXY_BIN = '/usr/sbin/haproxy';

async function ensureHaproxy(): Promise<ToolInfo> {
  return { path: HAPROXY_BIN, version: await ensureDebianPackage('haproxy', HAPROXY_BIN) };
}

async function ensureCniPlugins(): Promise<ToolInfo> {
  // the plugins print their version only when asked through the CNI protocol: dpkg says it
  return { path: CNI_BIN_DIR, version: await ensureDebianPackage('containernetworking-plugins', path.join(CNI_BIN_DIR, 'bridge')) };
}

/** What the kube-proxy image copies from the host: Debian's iptables (and conntrack), installed when missing. */
async function kubeProxyExtras(): Promise<CollectedFiles> {
  const versions = [await ensureDebianPackage('iptables', '/usr/sbin/xtables-nft-multi'), await ensureDebianPackage('conntrack', '/usr/sbin/conntrack')];
  const collected = collectHostFiles(kubeProxyHostFiles());
  log(`kube-proxy image extras: ${versions.join(', ')} (${collected.files.length} files)`);
  return collected;
}

async function prepareImages(
  imageDir: string,
  binaries: Record<BinaryName, BinaryInfo>,
  tags: Record<ImageName, string>,
  previous: Partial<Record<ImageName, ImageInfo>>,
  extras: Partial<Record<ImageName, CollectedFiles>>,
): Promise<Record<ImageName, ImageInfo>> {
  await mkdir(imageDir, { recursive: true });
  const out: Partial<Record<ImageName, ImageInfo>> = {};
  for (const component of Object.keys(tags) as ImageName[]) {
    const ref = componentImageRef(component, tags[component]);
    const binary = binaries[component];
    const extra = extras[component];
    const key = createHash('sha256')
      .update(JSON.stringify([IMAGE_BUILDER_VERSION, binary.sha256, recipeFingerprint(component), ref, ...(extra ? [extra.hash] : [])]))
      .digest('hex');
    const tarball = path.join(imageDir, `${component}_${tags[component]}.oci.tar`);
    const old = previous[component];
    if (old && old.key === key && old.tarball === tarball && existsSync(tarball)) {
      out[component] = old;
      continue;
    }
    const built = await timed(`image ${ref}`, async () => writeImage(componentImageSpec(component, ref, await readFile(binary.path), extra?.files), tarball));
    out[component] = { ref, tarball, manifestDigest: built.manifest.digest, key };
  }
  return out as Record<ImageName, ImageInfo>;
}

async function readPrevious(file: string): Promise<Partial<Components>> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Components;
    return parsed.format === COMPONENTS_FORMAT ? parsed : {};
  } catch {
    return {};
  }
}

/** Builds (or checks) the components of one release row; the suite's by default. */
export async function prepare(release: KubernetesRelease = suiteRelease()): Promise<Components> {
  const k8sModule = path.join(here, 'k8s', `v1.${release.minor}`);
  const etcdModule = path.join(here, 'etcd', `v${etcdVersionOfTag(release.etcdImageTag)}`);
  for (const dir of [k8sModule, etcdModule]) {
    if (!existsSync(path.join(dir, 'go.mod'))) {
      throw new Error(
        `${dir}/go.mod is missing: run \`bash test/support/modules/new-version.sh ${release.version} ${etcdVersionOfTag(release.etcdImageTag)}\` and commit it`,
      );
    }
  }
  const kubernetesVersion = await goModVersion(path.join(k8sModule, 'go.mod'), 'k8s.io/kubernetes');
  if (kubernetesVersion !== release.version) {
    throw new Error(`${k8sModule}/go.mod pins ${kubernetesVersion} but src/config/versions.ts says ${release.version}: make them agree`);
  }
  const criApiVersion = await goModVersion(path.join(k8sModule, 'go.mod'), 'k8s.io/cri-api');
  const etcdVersion = (await goModVersion(path.join(etcdModule, 'go.mod'), 'go.etcd.io/etcd/server/v3')).replace(/^v/, '');
  const etcdImageTag = release.etcdImageTag;
  const pauseVersion = release.pauseVersion;
  if (etcdVersionOfTag(etcdImageTag) !== etcdVersion) {
    throw new Error(`${etcdModule}/go.mod pins etcd ${etcdVersion} but the etcd image tag of ${release.version} is ${etcdImageTag}`);
  }
  const cacheDir = path.join(cacheRoot(), kubernetesVersion);
  const binDir = path.join(cacheDir, 'bin');
  const imageDir = path.join(cacheDir, 'images');
  const manifestFile = path.join(cacheDir, 'components.json');
  await mkdir(binDir, { recursive: true });
  log(`kubernetes ${kubernetesVersion}, etcd ${etcdVersion}, pause ${pauseVersion}, cri-api ${criApiVersion}; cache ${cacheDir}`);

  const unlock = await lock(cacheDir);
  try {
    const previous = await readPrevious(manifestFile);
    const prevBinaries = previous.binaries ?? {};

    const goBinaries = await prepareBinaries(
      binDir,
      [
        { name: 'kube-apiserver', versionArgs: ['--version'], expect: `Kubernetes ${kubernetesVersion}` },
        { name: 'kube-controller-manager', versionArgs: ['--version'], expect: `Kubernetes ${kubernetesVersion}` },
        { name: 'kube-scheduler', versionArgs: ['--version'], expect: `Kubernetes ${kubernetesVersion}` },
        { name: 'kubectl', versionArgs: ['version', '--client'], expect: `Client Version: ${kubernetesVersion}` },
        { name: 'kubeadm', versionArgs: ['version', '-o', 'short'], expect: kubernetesVersion },
        // node components (static like upstream's release build: KUBE_STATIC_BINARIES lists both)
        { name: 'kubelet', versionArgs: ['--version'], expect: `Kubernetes ${kubernetesVersion}` },
        { name: 'kube-proxy', versionArgs: ['--version'], expect: `Kubernetes ${kubernetesVersion}` },
        { name: 'etcd', versionArgs: ['--version'], expect: `etcd Version: ${etcdVersion}` },
        // `etcdctl member list` for the HA tests (etcd/vA.B.C/etcdctl, its own wrapper module)
        { name: 'etcdctl', versionArgs: ['version'], expect: `etcdctl version: ${etcdVersion}` },
      ],
      prevBinaries,
      (missing) =>
        timed('Go binaries (build-binaries.sh)', () => stream(' ', 'bash', [path.join(here, 'build-binaries.sh'), binDir, k8sModule, etcdModule, ...missing])),
    );
    log(
      `binaries ok: ${Object.values(goBinaries)
        .map((b) => b.version)
        .join(' | ')}`,
    );

    const pauseDir = path.join(here, 'pause');
    const pauseSourceHash = createHash('sha256')
      .update(pauseVersion)
      .update(await readFile(path.join(pauseDir, 'go.mod')))
      .update(await readFile(path.join(pauseDir, 'main.go')))
      .digest('hex');
    const pauseBinary = path.join(binDir, 'pause');
    if (previous.pauseSourceHash !== pauseSourceHash) await rm(pauseBinary, { force: true }); // sources changed
    const pause = await prepareBinaries(binDir, [{ name: 'pause', versionArgs: ['-v'], expect: `pause.go version: ${pauseVersion}` }], prevBinaries, () =>
      timed('pause', () => goBuild(pauseDir, '.', pauseBinary, { ldflags: `-s -w -X main.version=${pauseVersion}` })),
    );
    const coredns = await prepareCoredns(binDir, release.corednsVersion, previous, prevBinaries);
    const binaries = { ...goBinaries, ...pause, coredns: coredns.binary } as Record<BinaryName, BinaryInfo>;

    const runtime = await ensureRuntime();
    log(`runtime: ${runtime.containerd.version} | ${runtime.runc.version}`);
    const cniPlugins = await ensureCniPlugins();
    log(`CNI plugins: ${cniPlugins.version} in ${cniPlugins.path}`);
    const haproxy = await ensureHaproxy();
    log(`load balancer: ${haproxy.version} (${haproxy.path})`);
    const kubeProxyFiles = await kubeProxyExtras();
    const containerd2 = await prepareContainerd2();
    log(`runtime: ${containerd2.binaries.containerd.version} in ${containerd2.binDir} (runc: the one above)`);

    const images = await prepareImages(
      imageDir,
      binaries,
      {
        'kube-apiserver': kubernetesVersion,
        'kube-controller-manager': kubernetesVersion,
        'kube-scheduler': kubernetesVersion,
        'kube-proxy': kubernetesVersion,
        etcd: etcdImageTag,
        pause: pauseVersion,
        coredns: release.corednsVersion,
      },
      previous.images ?? {},
      { 'kube-proxy': kubeProxyFiles },
    );
    log(
      `images: ${Object.values(images)
        .map((i) => i.ref)
        .join(', ')}`,
    );

    const manifest: Components = {
      format: COMPONENTS_FORMAT,
      kubernetesVersion,
      etcdVersion,
      etcdImageTag,
      pauseVersion,
      criApiVersion,
      cacheDir,
      binDir,
      imageDir,
      binaries,
      images,
      ...runtime,
      cniPlugins,
      haproxy,
      pauseSourceHash,
      coredns: coredns.info,
      kubeProxyHostFilesHash: kubeProxyFiles.hash,
      preparedAt: new Date().toISOString(),
    };
    await writeManifest(manifestFile, manifest);
    log(`wrote ${manifestFile}`);
    return manifest;
  } finally {
    await unlock();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // The suite's version, then the upgrade tests' versions (another row adds only its own build).
  const releases = [...new Map([suiteRelease(), ...UPGRADE_PATH].map((r) => [r.version, r])).values()];
  (async () => {
    for (const r of releases) await prepare(r);
  })().then(
    () => log(`components ready: ${releases.map((r) => r.version).join(', ')}`),
    (err: unknown) => {
      console.error(`[prepare] FAILED: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
}
