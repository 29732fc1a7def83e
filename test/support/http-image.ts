/**
 * The e2e tests' HTTP workload image, built locally: the ks-http program (test/support/http-image,
 * no dependencies, static) in an OCI image `kubestrap.test/ks-http:<hash>`, cached under
 * `<cache root>/test-images/` by the hash of its sources (a warm call only checks the files).
 * Pods run it with imagePullPolicy Never after `importHttpImage()` into a node's containerd.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { V1Container } from '@kubernetes/client-node';
import { writeImage } from '../../src/images/oci.js';
import { cacheRoot } from './components.js';
import type { PrivateContainerd } from './containerd.js';

const exec = promisify(execFile);
const SOURCE_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'http-image');
/** Where the program sits in the image (its entrypoint). */
export const HTTP_BINARY = '/ks-http';
/** The port `ks-http serve` listens on. */
export const HTTP_PORT = 8080;

export interface HttpImage {
  ref: string;
  tarball: string;
  /** The program itself on this machine (a client for a node's namespace: `<binary> get <url>`). */
  binary: string;
}

let built: Promise<HttpImage> | undefined;

/** Builds (once per source change) and returns the image. */
export function httpImage(): Promise<HttpImage> {
  built ??= (async () => {
    const hash = createHash('sha256');
    for (const f of ['go.mod', 'main.go']) hash.update(await readFile(path.join(SOURCE_DIR, f)));
    const tag = hash.digest('hex').slice(0, 12);
    const dir = path.join(cacheRoot(), 'test-images');
    const binary = path.join(dir, `ks-http-${tag}`);
    const tarball = path.join(dir, `ks-http-${tag}.oci.tar`);
    const ref = `kubestrap.test/ks-http:${tag}`;
    if (existsSync(tarball) && existsSync(binary)) return { ref, tarball, binary };
    await mkdir(dir, { recursive: true });
    await exec('go', ['build', '-C', SOURCE_DIR, '-trimpath', '-ldflags=-s -w', '-o', `${binary}.tmp`, '.'], {
      env: { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false' },
    });
    await rename(`${binary}.tmp`, binary);
    await writeImage(
      {
        ref,
        files: [{ path: HTTP_BINARY, mode: 0o755, content: await readFile(binary) }],
        config: { entrypoint: [HTTP_BINARY], cmd: ['serve'], labels: { 'org.opencontainers.image.title': 'ks-http' } },
      },
      `${tarball}.tmp`,
    );
    await rename(`${tarball}.tmp`, tarball);
    return { ref, tarball, binary };
  })();
  return built;
}

/** A pod's container serving the image on HTTP_PORT, Ready once it answers (the image must be imported: never pulled). */
export function httpContainer(image: string, name = 'web'): V1Container {
  return {
    name,
    image,
    imagePullPolicy: 'Never',
    args: ['serve', `:${HTTP_PORT}`],
    ports: [{ containerPort: HTTP_PORT }],
    readinessProbe: { httpGet: { path: '/', port: HTTP_PORT }, periodSeconds: 1 },
  };
}

/** Imports the image into a node's containerd; returns its reference. */
export async function importHttpImage(containerd: PrivateContainerd): Promise<string> {
  const image = await httpImage();
  await containerd.importImage(image.tarball);
  return image.ref;
}
