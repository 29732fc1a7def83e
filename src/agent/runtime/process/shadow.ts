/**
 * Writable shadows of host directories, inside a container's private mount namespace only. With a
 * --rootfs other than '/', a mountPath such as /etc/kubernetes/pki usually does not exist on the real
 * host, and a bind mount needs an existing mount point. Creating it on the host would break the rule
 * that every path the tools touch is under the rootfs, so the nearest existing ancestor (/etc) is
 * covered, in the namespace, by an overlayfs whose upper layer is a namespace-private tmpfs: the
 * mount point is created there and the real /etc never changes. The tmpfs lives on a scratch
 * directory under the rootfs (a tmpfs upper also avoids overlayfs' "overlapping layers" refusal when
 * the rootfs itself lies below the shadowed directory). Where overlayfs refuses the lower layer, a
 * tmpfs with every entry of the real directory bind-mounted back in does the same job with more mounts.
 */
import { posix } from 'node:path';

export interface Shadow {
  /** Host directory covered inside the namespace. */
  dir: string;
  /** Mount points below `dir` (relative, outermost only) that the overlay would hide and are put back. */
  submounts: string[];
}

/** `p` is `dir` or below it. */
export function within(p: string, dir: string): boolean {
  return p === dir || dir === '/' || p.startsWith(`${dir}/`);
}

/** Outermost mount points strictly below `dir`, relative to it. */
function outermostBelow(dir: string, mountPoints: readonly string[]): string[] {
  const below = [...new Set(mountPoints.filter((m) => m !== dir && within(m, dir)))];
  return below
    .filter((m) => !below.some((o) => o !== m && within(m, o)))
    .map((m) => posix.relative(dir, m))
    .sort();
}

/**
 * One shadow per directory that needs one, parents first. A directory below a shadowed one needs no
 * shadow of its own unless a mount boundary lies between them (the submount is put back as it is on
 * the host, so creating entries in it would write to the host again).
 */
export function planShadows(dirs: readonly string[], mountPoints: readonly string[]): Shadow[] {
  const depth = (p: string): number => (p === '/' ? 0 : p.split('/').length);
  const unique = [...new Set(dirs)].sort((a, b) => depth(a) - depth(b) || a.localeCompare(b));
  const shadows: Shadow[] = [];
  for (const dir of unique) {
    const covered = shadows.some((s) => within(dir, s.dir) && !mountPoints.some((m) => m !== s.dir && within(m, s.dir) && within(dir, m)));
    if (!covered) shadows.push({ dir, submounts: outermostBelow(dir, mountPoints) });
  }
  return shadows;
}

export function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Fallback shadow: a tmpfs on $2 holding every entry of $1 (a recursive bind of the real directory):
 * directories and files bind-mounted back (with their submounts), symlinks copied.
 */
const SHADOW_WITH_TMPFS = `kubestrap_tmpfs_shadow() {
  mount -t tmpfs kubestrap-shadow "$2"
  chmod --reference="$1" "$2"
  chown --reference="$1" "$2"
  for e in "$1"/* "$1"/.[!.]* "$1"/..?*; do
    [ -e "$e" ] || [ -L "$e" ] || continue
    n="\${e##*/}"
    if [ -L "$e" ]; then ln -s "$(readlink "$e")" "$2/$n"
    elif [ -d "$e" ]; then mkdir "$2/$n"; mount -c --rbind "$e" "$2/$n"
    else : > "$2/$n"; mount -c --rbind "$e" "$2/$n"
    fi
  done
}`;

/**
 * A path in the working directory for mount(8): it turns relative paths into absolute ones (which a
 * shadow may hide), while /proc/self/cwd is resolved by the kernel to the real working directory.
 * Used with -c (no canonicalization).
 */
export function inCwd(relative: string): string {
  return `/proc/self/cwd/${relative}`;
}

const LOWER = inCwd('lower');

/**
 * Mounts the container's scratch tmpfs and enters it. The working directory stays there (a shadow
 * hides it from path lookups when the rootfs lies below the shadowed directory), so later lines
 * reach it through relative paths and inCwd().
 */
export function scratchScript(scratch: string): string[] {
  return [SHADOW_WITH_TMPFS, `mount -t tmpfs -o mode=0700 kubestrap-scratch ${quote(scratch)}`, `cd ${quote(scratch)}`];
}

export interface ShadowScriptOptions {
  /** Try overlayfs first (default); false goes straight to the tmpfs fallback. */
  overlay?: boolean;
}

/**
 * Shell lines (for `set -e` sh, run in the scratch directory after scratchScript) that mount the
 * shadows. Each keeps a recursive bind of the real directory as `lower` (the overlay's lower layer,
 * and the source of the submounts put back), then drops that extra view.
 */
export function shadowScript(shadows: readonly Shadow[], options: ShadowScriptOptions = {}): string[] {
  const overlay = options.overlay ?? true;
  const lines: string[] = [];
  for (const [i, s] of shadows.entries()) {
    const dir = quote(s.dir);
    lines.push(`mkdir ${i} ${i}/lower ${i}/upper ${i}/work`, `cd ${i}`, `mount --rbind ${dir} lower`);
    const putBack = s.submounts.map((r) => `mount -c --rbind ${quote(`${LOWER}/${r}`)} ${quote(posix.join(s.dir, r))}`);
    if (overlay) {
      // relative layer paths need no escaping of ':' or ',' in the options
      lines.push(`if mount -t overlay kubestrap-overlay -o lowerdir=lower,upperdir=upper,workdir=work ${dir} 2>/dev/null; then`);
      lines.push(...(putBack.length ? putBack.map((l) => `  ${l}`) : ['  :']));
      lines.push(`else kubestrap_tmpfs_shadow ${LOWER} ${dir}; fi`);
    } else {
      lines.push(`kubestrap_tmpfs_shadow ${LOWER} ${dir}`);
    }
    // -P: a logical 'cd ..' would chdir to the path string, which the shadow may now hide
    lines.push(`umount -c -l ${LOWER}`, 'cd -P ..');
  }
  return lines;
}
