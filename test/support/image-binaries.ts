/**
 * Puts the prepared component binaries where the process runtime looks for an image's program:
 * `<rootfs>/var/lib/kubestrap/images/<repository>/<tag>/<binary>` (src/images/binary.ts),
 * so `kubestrap init --runtime process --rootfs <tmp>` runs the very binaries the harness built.
 * Symlinks: nothing is copied, and reset's removal of /var/lib/kubestrap removes only the links.
 */
import { mkdir, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { IMAGES_DIR, parseImage } from '../../src/images/binary.js';
import { components, type Components, type ImageName } from './components.js';

/** The control-plane images whose binary has the image's name (pause is the CRI sandbox, not run here). */
const STAGED: readonly Exclude<ImageName, 'pause'>[] = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];

/**
 * Links each component binary into the rootfs' image directory; returns the link paths. `c`: another
 * version's components (componentsOf), e.g. an upgrade's target.
 */
export async function stageImageBinaries(rootfs: string, c: Components = components()): Promise<string[]> {
  const links: string[] = [];
  for (const name of STAGED) {
    const { repository, tag } = parseImage(c.images[name].ref);
    const dir = path.join(rootfs, IMAGES_DIR, repository, tag);
    await mkdir(dir, { recursive: true });
    const link = path.join(dir, name);
    await rm(link, { force: true });
    await symlink(c.binaries[name].path, link);
    links.push(link);
  }
  return links;
}
