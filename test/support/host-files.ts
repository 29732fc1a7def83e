/**
 * Host programs copied into an image with what they load, the way upstream's distroless-iptables
 * base carries Debian's iptables: each program, the shared libraries `ldd` names (at the path the
 * dynamic loader looks them up by, so no ld.so.cache is needed), directories of dlopen()ed plugins
 * (iptables' xtables extensions), and symlinks for multi-call binaries (`iptables-restore` →
 * `xtables-nft-multi`). The harness' kube-proxy image uses it; the content hash keys its cache.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ImageFile } from '../../src/images/oci.js';

export interface HostFileSet {
  /** Programs: host path → same path in the image. */
  programs: readonly string[];
  /** Symlinks in the image: link path → target (relative, as Debian's). */
  links: Readonly<Record<string, string>>;
  /** Directories copied whole (plugins loaded at run time; their libraries are followed too). */
  dirs: readonly string[];
}

/** The shared objects `ldd` lists for an ELF file: [path the loader uses, host file]. */
function sharedLibraries(file: string): string[] {
  const out = execFileSync('ldd', [file], { encoding: 'utf8' });
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (m?.[1]) libs.push(m[1]);
  }
  return libs;
}

export interface CollectedFiles {
  files: ImageFile[];
  /** sha256 over every path and content, for a cache key. */
  hash: string;
}

/** Collects the set's files from this host; throws naming a program that is missing. */
export function collectHostFiles(set: HostFileSet): CollectedFiles {
  const files = new Map<string, ImageFile>();
  const add = (imagePath: string, hostPath: string, mode: number): void => {
    if (!files.has(imagePath)) files.set(imagePath, { path: imagePath, mode, content: readFileSync(realpathSync(hostPath)) });
  };
  const elves: string[] = [];
  for (const program of set.programs) {
    if (!existsSync(program)) throw new Error(`${program} not found on this host (install its Debian package)`);
    add(program, program, 0o755);
    elves.push(program);
  }
  for (const dir of set.dirs) {
    for (const name of readdirSync(dir).sort()) {
      const file = path.join(dir, name);
      if (!statSync(file).isFile()) continue;
      add(file, file, 0o644);
      elves.push(file);
    }
  }
  for (const elf of elves) for (const lib of sharedLibraries(elf)) add(lib, lib, 0o755);
  for (const [link, target] of Object.entries(set.links)) files.set(link, { path: link, type: 'symlink', mode: 0o777, linkTarget: target });
  const sorted = [...files.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
  const hash = createHash('sha256');
  for (const f of sorted) hash.update(`${f.path}\0${f.linkTarget ?? ''}\0`).update(f.content ?? Buffer.alloc(0));
  return { files: sorted, hash: hash.digest('hex') };
}

const SBIN = '/usr/sbin';
const NFT_LINKS = ['iptables', 'iptables-save', 'iptables-restore', 'ip6tables', 'ip6tables-save', 'ip6tables-restore'];
const FLAVOURED = ['iptables', 'iptables-save', 'iptables-restore', 'ip6tables', 'ip6tables-save', 'ip6tables-restore'];

/**
 * What kube-proxy execs in iptables mode (pkg/util/iptables: iptables, iptables-save,
 * iptables-restore and the ip6tables trio), from Debian's iptables 1.8.9: the plain names are the
 * nft backend (Debian's default alternative; upstream's iptables-wrapper picks per host, both work in
 * a network namespace here), the -legacy and -nft names both, the xtables extensions, and
 * conntrack(8) as upstream's base carries it (kube-proxy ≥ 1.32 cleans conntrack over netlink).
 */
export function kubeProxyHostFiles(): HostFileSet {
  const links: Record<string, string> = {};
  for (const name of NFT_LINKS) links[`${SBIN}/${name}`] = 'xtables-nft-multi';
  for (const name of FLAVOURED) {
    const [cmd, ...rest] = name.split('-');
    const suffix = rest.length ? `-${rest.join('-')}` : '';
    links[`${SBIN}/${cmd}-nft${suffix}`] = 'xtables-nft-multi';
    links[`${SBIN}/${cmd}-legacy${suffix}`] = 'xtables-legacy-multi';
  }
  return {
    programs: [`${SBIN}/xtables-nft-multi`, `${SBIN}/xtables-legacy-multi`, `${SBIN}/conntrack`],
    links,
    // iptables' compiled-in XTABLES_LIBDIR: /usr/lib/<multiarch triplet>/xtables
    dirs: readdirSync('/usr/lib')
      .map((d) => `/usr/lib/${d}/xtables`)
      .filter((d) => existsSync(d)),
  };
}
