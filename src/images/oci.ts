/**
 * Builds single-layer OCI images from files (typically one static binary) and writes them as an
 * OCI image-layout tar archive, the format `ctr images import` and `docker load` accept. Output is
 * deterministic: fixed mtimes and owners, sorted entries, no creation time, so the same binary
 * always yields the same digests and a cache can key on them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { tar, withParentDirs, type TarEntry } from './tar.js';

const gzip = promisify(gzipCallback);

export const MEDIA_TYPES = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

/** OCI's tag-only reference annotation (the image-layout convention). */
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';
/** containerd's full-name annotation: `ctr images import` names the image after it. */
export const ANNOTATION_CONTAINERD_NAME = 'io.containerd.image.name';

export interface ImageFile {
  /** Absolute path inside the image, e.g. /usr/local/bin/etcd. */
  path: string;
  /** 'file' when omitted. */
  type?: 'file' | 'dir' | 'symlink';
  mode: number;
  content?: Buffer;
  /** A symlink's target. */
  linkTarget?: string;
}

/** The runtime part of the image config (OCI image-spec `config`). */
export interface ImageRunConfig {
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
  user?: string;
  labels?: Record<string, string>;
}

export interface ImageSpec {
  /** Full reference, e.g. registry.k8s.io/kube-apiserver:v1.34.4. */
  ref: string;
  files: ImageFile[];
  config: ImageRunConfig;
  /** Defaults to linux/amd64 (or the Node process' architecture mapped to GOARCH names). */
  platform?: { os: string; architecture: string };
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { os: string; architecture: string };
}

export interface BuiltImage {
  ref: string;
  /** The OCI image-layout tar archive. */
  archive: Buffer;
  manifest: Descriptor;
  config: Descriptor;
  layer: Descriptor;
  /** sha256 of the uncompressed layer tar (the config's rootfs.diff_ids entry). */
  diffId: string;
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Node's process.arch names → OCI/GOARCH names, for the architectures Kubernetes ships. */
const GOARCH: Readonly<Record<string, string>> = { x64: 'amd64', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x' };

export function hostPlatform(): { os: string; architecture: string } {
  return { os: 'linux', architecture: GOARCH[process.arch] ?? process.arch };
}

/** Splits `registry/repo:tag` into name and tag; a digest reference is not a buildable name. */
export function parseRef(ref: string): { name: string; tag: string } {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (ref.includes('@') || colon <= slash || colon === ref.length - 1) {
    throw new Error(`image reference ${ref} must be name:tag`);
  }
  return { name: ref.slice(0, colon), tag: ref.slice(colon + 1) };
}

/** JSON with sorted keys, so equal objects always serialise to equal bytes (and digests). */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)));
    }
    return v;
  });
}

function runConfig(config: ImageRunConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (config.user) out.User = config.user;
  if (config.env) out.Env = config.env;
  if (config.entrypoint) out.Entrypoint = config.entrypoint;
  if (config.cmd) out.Cmd = config.cmd;
  if (config.workingDir) out.WorkingDir = config.workingDir;
  if (config.labels && Object.keys(config.labels).length > 0) out.Labels = config.labels;
  return out;
}

/** Builds the image in memory (binaries of ~100 MB are fine; the machine has the RAM). */
export async function buildImage(spec: ImageSpec): Promise<BuiltImage> {
  const { tag } = parseRef(spec.ref);
  const platform = spec.platform ?? hostPlatform();
  const layerEntries: TarEntry[] = withParentDirs(
    spec.files.map((f) => ({ path: f.path, type: f.type ?? 'file', mode: f.mode, content: f.content, linkTarget: f.linkTarget })),
  );
  const layerTar = tar(layerEntries);
  const diffId = sha256(layerTar);
  const layerGz = await gzip(layerTar, { level: 6 });
  const layer: Descriptor = { mediaType: MEDIA_TYPES.layerGzip, digest: sha256(layerGz), size: layerGz.length };

  const configJson = Buffer.from(
    canonicalJson({
      architecture: platform.architecture,
      os: platform.os,
      config: runConfig(spec.config),
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [
        {
          created_by: `kubestrap image builder: ${spec.files
            .map((f) => f.path)
            .sort()
            .join(' ')}`,
        },
      ],
    }),
  );
  const config: Descriptor = { mediaType: MEDIA_TYPES.config, digest: sha256(configJson), size: configJson.length };

  const manifestJson = Buffer.from(canonicalJson({ schemaVersion: 2, mediaType: MEDIA_TYPES.manifest, config, layers: [layer] }));
  const manifest: Descriptor = {
    mediaType: MEDIA_TYPES.manifest,
    digest: sha256(manifestJson),
    size: manifestJson.length,
  };
  const indexJson = Buffer.from(
    canonicalJson({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.index,
      manifests: [
        {
          ...manifest,
          annotations: { [ANNOTATION_CONTAINERD_NAME]: spec.ref, [ANNOTATION_REF_NAME]: tag },
          platform,
        },
      ],
    }),
  );

  const blob = (digest: string, content: Buffer): TarEntry => ({
    path: `blobs/sha256/${digest.slice('sha256:'.length)}`,
    type: 'file',
    mode: 0o644,
    content,
  });
  const archive = tar(
    withParentDirs([
      { path: 'oci-layout', type: 'file', mode: 0o644, content: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
      { path: 'index.json', type: 'file', mode: 0o644, content: indexJson },
      blob(config.digest, configJson),
      blob(manifest.digest, manifestJson),
      blob(layer.digest, layerGz),
    ]),
  );
  return { ref: spec.ref, archive, manifest, config, layer, diffId };
}

/** Builds the image and writes its archive to `file` atomically (temp file + rename). */
export async function writeImage(spec: ImageSpec, file: string): Promise<BuiltImage> {
  const built = await buildImage(spec);
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, built.archive, { mode: 0o644 });
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  return built;
}
