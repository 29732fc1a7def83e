/**
 * The image store of the process runtime (and of `config images import`): an image reference selects a directory of binaries, so
 * changing a manifest's image tag changes the program that runs (the upgrade path of a static pod).
 */
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import type { Host } from '../host/host.js';

import { IMAGES_DIR } from '../constants.js';

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
