/**
 * Air-gapped installs of the control-plane "images" from static binaries: for the process runtime
 * the binary goes where it resolves images (`/var/lib/kubestrap/images/<repo>/<tag>/<binary>`), so
 * a manifest's image tag still picks the program; for containerd an OCI image with upstream's layout
 * is built and imported with `ctr`.
 */
import { chmod, copyFile, mkdir, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { IMAGES_DIR, parseImage } from './binary.js';
import { HostError, messageOf } from '../errors.js';
import type { Host } from '../host/host.js';
import { componentImageSpec, type ComponentImage } from './kubernetes.js';
import { writeImage } from './oci.js';

export interface BinaryImage {
  /** Full image reference, e.g. registry.k8s.io/kube-apiserver:v1.34.4. */
  image: string;
  component: ComponentImage;
  /** Real path of the static binary. */
  binary: string;
}

/** Finds `<dir>/<component>` for each image; a missing binary is an error naming it. */
export async function binariesFrom(dir: string, images: readonly Omit<BinaryImage, 'binary'>[]): Promise<BinaryImage[]> {
  const out: BinaryImage[] = [];
  for (const img of images) {
    const binary = path.join(dir, img.component);
    const st = await stat(binary).catch(() => undefined);
    if (!st?.isFile()) {
      throw new HostError(`no ${img.component} binary in ${dir}`, {
        field: '--from',
        hint: `put a static ${img.component} build there (npm run prepare:components builds them)`,
      });
    }
    out.push({ ...img, binary });
  }
  return out;
}

/** Copies each binary into the process runtime's image store under the rootfs (mode 0755). */
export async function installForProcessRuntime(host: Host, images: readonly BinaryImage[]): Promise<string[]> {
  const written: string[] = [];
  for (const img of images) {
    const { repository, tag } = parseImage(img.image);
    const target = host.path(`${IMAGES_DIR}/${repository}/${tag}/${img.component}`);
    await mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
    await copyFile(img.binary, `${target}.tmp`);
    await chmod(`${target}.tmp`, 0o755);
    await rename(`${target}.tmp`, target);
    written.push(target);
  }
  return written;
}

/** Builds an OCI image per binary and imports it into containerd's k8s.io namespace. */
export async function importIntoContainerd(address: string, images: readonly BinaryImage[]): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kubestrap-images-'));
  try {
    for (const img of images) {
      const tarball = path.join(dir, `${img.component}.tar`);
      await writeImage(componentImageSpec(img.component, img.image, await readFile(img.binary)), tarball);
      try {
        await execa('ctr', ['--address', address, '-n', 'k8s.io', 'images', 'import', tarball]);
      } catch (err) {
        throw new HostError(`cannot import ${img.image} into containerd at ${address}: ${messageOf(err).split('\n')[0]}`, {
          cause: err,
          hint: 'is containerd running, and is ctr installed?',
        });
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
