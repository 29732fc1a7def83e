/**
 * Runs a rendered static Pod manifest's container as a host process, the way the first e2e tests
 * prove the manifests without a kubelet: the exact command line of spec.containers[0], with every
 * absolute path that the container sees through a hostPath volume mapped to the host path under
 * the rootfs, and the binary taken from the prepared components.
 */
import https from 'node:https';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { components, type BinaryName } from './components.js';
import { startProcess, waitFor, type Proc } from './proc.js';

interface ManifestVolume {
  name: string;
  hostPath?: { path: string };
}
interface ManifestProbe {
  httpGet?: { host?: string; port: number | string; path?: string; scheme?: string };
}
interface ManifestContainer {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  volumeMounts?: { name: string; mountPath: string }[];
  ports?: { name?: string; containerPort: number }[];
  startupProbe?: ManifestProbe;
  readinessProbe?: ManifestProbe;
  livenessProbe?: ManifestProbe;
}
interface ManifestPod {
  metadata: { name: string };
  spec: { containers: ManifestContainer[]; volumes?: ManifestVolume[]; hostNetwork?: boolean };
}

export interface HostCommand {
  /** Prepared binary for the container's command[0]. */
  binary: string;
  /** command[1..] + args, paths rewritten. */
  args: string[];
  /** The URL of the container's readiness (else startup, else liveness) HTTP probe. */
  probeUrl?: string;
  pod: ManifestPod;
}

/** Maps a container path to `<rootfs>/<host path>` when a hostPath volume mount covers it. */
export function hostPathMapper(pod: ManifestPod, rootfs: string): (containerPath: string) => string {
  const container = pod.spec.containers[0]!;
  const volumes = new Map((pod.spec.volumes ?? []).map((v) => [v.name, v.hostPath?.path]));
  const mounts = (container.volumeMounts ?? [])
    .map((m) => ({ mountPath: m.mountPath.replace(/\/+$/, ''), hostPath: volumes.get(m.name) }))
    .filter((m): m is { mountPath: string; hostPath: string } => !!m.hostPath)
    .sort((a, b) => b.mountPath.length - a.mountPath.length); // most specific mount wins
  return (p) => {
    const mount = mounts.find((m) => p === m.mountPath || p.startsWith(`${m.mountPath}/`));
    return mount ? path.join(rootfs, mount.hostPath, p.slice(mount.mountPath.length)) : p;
  };
}

/** Rewrites `--flag=/a,/b` style values whose parts are absolute paths under a hostPath mount. */
export function rewriteArgs(args: readonly string[], map: (p: string) => string): string[] {
  return args.map((arg) => {
    const eq = arg.indexOf('=');
    if (!arg.startsWith('-') || eq < 0) return arg.startsWith('/') ? map(arg) : arg;
    const value = arg.slice(eq + 1);
    return `${arg.slice(0, eq + 1)}${value
      .split(',')
      .map((part) => (part.startsWith('/') ? map(part) : part))
      .join(',')}`;
  });
}

export async function hostCommand(manifestFile: string, rootfs: string): Promise<HostCommand> {
  const pod = parse(await readFile(manifestFile, 'utf8')) as ManifestPod;
  const container = pod.spec.containers[0];
  if (!container?.command?.[0]) throw new Error(`${manifestFile}: spec.containers[0].command is empty`);
  const name = path.basename(container.command[0]) as BinaryName;
  const binary = components().binaries[name]?.path;
  if (!binary) throw new Error(`${manifestFile}: no prepared binary for command ${container.command[0]}`);
  const args = rewriteArgs([...container.command.slice(1), ...(container.args ?? [])], hostPathMapper(pod, rootfs));
  const probe = (container.readinessProbe ?? container.startupProbe ?? container.livenessProbe)?.httpGet;
  // kubeadm names the probe port (probe-port) in the container's ports; resolve it like the kubelet
  const port = typeof probe?.port === 'string' ? (container.ports?.find((p) => p.name === probe.port)?.containerPort ?? probe.port) : probe?.port;
  const probeUrl = probe ? `${(probe.scheme ?? 'HTTP').toLowerCase()}://${probe.host ?? '127.0.0.1'}:${port}${probe.path ?? '/'}` : undefined;
  return { binary, args, probeUrl, pod };
}

/** GET like a kubelet probe: HTTPS without certificate verification; resolves status and body. */
export function probeGet(url: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  if (url.startsWith('http://')) {
    return fetch(url, { signal: AbortSignal.timeout(timeoutMs) }).then(async (r) => ({ status: r.status, body: await r.text() }));
  }
  return new Promise((resolve, reject) => {
    const req = https.get(url, { rejectUnauthorized: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: timeout`)));
    req.on('error', reject);
  });
}

/** Waits until `url` answers 200 with body "ok" (the /readyz /healthz /livez convention). */
export async function waitHealthy(url: string, proc: Proc, timeoutMs: number): Promise<void> {
  await waitFor(
    `${url} (${proc.name}, log ${proc.logFile})`,
    async () => {
      if (!proc.running()) throw new Error(`${proc.name} exited; see ${proc.logFile}`);
      const { status, body } = await probeGet(url);
      if (status === 200 && body.trim() === 'ok') return true;
      throw new Error(`HTTP ${status}: ${body.slice(0, 200)}`);
    },
    timeoutMs,
    500,
  );
}

/** Starts the manifest's container as a host process (own process group, log in logDir). */
export async function startFromManifest(manifestFile: string, rootfs: string, logDir: string): Promise<{ proc: Proc; command: HostCommand }> {
  const command = await hostCommand(manifestFile, rootfs);
  const name = command.pod.metadata.name;
  const proc = await startProcess(name, command.binary, command.args, { logFile: path.join(logDir, `${name}.log`) });
  return { proc, command };
}
