/**
 * The image store of the process runtime (and of `config images import`): an image reference selects a directory of binaries, so
 * changing a manifest's image tag changes the program that runs (the upgrade path of a static pod).
 */
import { access, constants, stat } from 'node:fs/promises';
import path from 'node:path';
import { ContainerStartError } from '../errors.js';
import { IMAGES_DIR } from '../constants.js';
import type { Host } from '../host/host.js';

export { IMAGES_DIR };

export interface ImageName {
  repository: string;
  /** Tag, or the digest for `repo@sha256:...`; `latest` when absent. */
  tag: string;
}

export function parseImage(image: string): ImageName {
  const at = image.indexOf('@');
  if (at >= 0) return { repository: image.slice(0, at), tag: image.slice(at + 1) };
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  if (colon > slash) return { repository: image.slice(0, colon), tag: image.slice(colon + 1) };
  return { repository: image, tag: 'latest' };
}

/** The program name a container runs: command[0], else the image's last path element. */
export function programName(image: string, command: readonly string[] | undefined): string {
  return command?.[0] ?? path.posix.basename(parseImage(image).repository);
}

async function executable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Real path of the binary to run, or undefined when neither the image directory nor PATH has it. */
export async function resolveBinary(host: Host, image: string, program: string, envPath = process.env.PATH ?? ''): Promise<string | undefined> {
  const { repository, tag } = parseImage(image);
  const fromImage = host.path(`${IMAGES_DIR}/${repository}/${tag}/${path.posix.basename(program)}`);
  if (await executable(fromImage)) return fromImage;
  if (program.includes('/')) return (await executable(program)) ? program : undefined;
  for (const dir of envPath.split(':')) {
    if (dir === '') continue;
    const candidate = path.join(dir, program);
    if (await executable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Why `resolveBinary` found nothing, with the kubelet's waiting reason: a command path that cannot
 * be executed, or a binary missing from an image directory that exists, is CreateContainerError
 * (naming the path); no image directory and nothing in PATH is an image that is not present, and
 * the process runtime never pulls: ErrImageNeverPull.
 */
export async function missingBinary(host: Host, image: string, program: string, field: string): Promise<ContainerStartError> {
  const { repository, tag } = parseImage(image);
  const dir = host.path(`${IMAGES_DIR}/${repository}/${tag}`);
  if (program.includes('/')) {
    const st = await stat(program).catch(() => undefined);
    const why = !st ? 'no such file' : !st.isFile() ? 'not a regular file' : 'not executable';
    return new ContainerStartError('CreateContainerError', `cannot execute ${program}: ${why}`, {
      field: `${field}.command`,
      hint: `install it there, or put it in ${dir}`,
    });
  }
  const hasDir = await stat(dir).then(
    (st) => st.isDirectory(),
    () => false,
  );
  if (hasDir) {
    return new ContainerStartError('CreateContainerError', `no executable ${path.join(dir, program)} and "${program}" is not in PATH`, {
      field: `${field}.command`,
    });
  }
  return new ContainerStartError(
    'ErrImageNeverPull',
    `Container image "${image}" is not present (no ${dir}) and "${program}" is not in PATH; the process runtime never pulls`,
    {
      field: `${field}.image`,
      hint: `put the binary at ${path.join(dir, program)} (kubestrap config images import --from <dir of static binaries> --kubernetes-version <version>) or in PATH`,
    },
  );
}
