/**
 * Debian's HAProxy as the test bed's external API load balancer: what a lab builds as a
 * load-balancer VM in front of its control planes, here a bed node of its own (its own network
 * namespace on the bed's bridge, no containerd) that runs nothing but haproxy. TCP mode (TLS stays
 * end to end between clients and API servers, so client certificates work), each API server
 * health-checked with GET /readyz over HTTPS (a server whose etcd is lost still accepts TCP but
 * answers 500) at a short interval, so a lost control plane leaves the pool in about
 * inter × fall. prepare.ts installs the package; bed.stop() stops the process with the node.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { components } from './components.js';
import { waitFor, type Proc } from './proc.js';
import type { TestbedNode } from './testbed.js';

const run = promisify(execFile);

/** Where Debian's package puts it (also what components.json records). */
const DEFAULT_HAPROXY = '/usr/sbin/haproxy';

export interface HaproxyServer {
  /** The server's name in HAProxy's log (`apiservers/<name> is DOWN`), e.g. the node name. */
  name: string;
  host: string;
  port: number;
}

export interface HaproxyOptions {
  servers: readonly HaproxyServer[];
  /** The API port on the balancer (default 6443, what controlPlaneEndpoint names). */
  port?: number;
  /** readyz (default): GET /readyz over HTTPS, 200 expected; tcp: a connect. */
  check?: 'readyz' | 'tcp';
  /** Health check interval (default 500 ms), failures to mark down (default 2), successes to mark up (default 1). */
  interMs?: number;
  fall?: number;
  rise?: number;
}

/** The haproxy.cfg for the API servers behind `listenIp:port`. */
export function haproxyConfig(listenIp: string, options: HaproxyOptions): string {
  const { port = 6443, check = 'readyz', interMs = 500, fall = 2, rise = 1 } = options;
  const checkLines =
    check === 'readyz'
      ? // kubeadm's RBAC lets anonymous clients read /readyz; the serving cert is not verified (labs do the same)
        ['  option httpchk', '  http-check send meth GET uri /readyz', '  http-check expect status 200']
      : ['  option tcp-check'];
  const serverOpts = [
    'check',
    ...(check === 'readyz' ? ['check-ssl', 'verify none'] : []),
    `inter ${interMs}`,
    `fall ${fall}`,
    `rise ${rise}`,
    // a server marked down loses its sessions at once: watches and kubelets reconnect to a live one
    'on-marked-down shutdown-sessions',
  ].join(' ');
  return [
    'global',
    '  log stdout format raw daemon',
    'defaults',
    '  mode tcp',
    '  log global',
    '  option tcplog',
    '  option log-health-checks',
    // a connect to a server whose link is cut gets no RST: give up fast and try another (redispatch)
    '  timeout connect 1s',
    '  retries 2',
    '  option redispatch',
    // API watches stay open for minutes
    '  timeout client 1h',
    '  timeout server 1h',
    'frontend apiserver',
    `  bind ${listenIp}:${port}`,
    '  default_backend apiservers',
    'backend apiservers',
    '  balance roundrobin',
    ...checkLines,
    `  default-server ${serverOpts}`,
    ...options.servers.map((s) => `  server ${s.name} ${s.host}:${s.port}`),
    '',
  ].join('\n');
}

export interface ApiLoadBalancer {
  readonly node: TestbedNode;
  /** host:port, what init's --control-plane-endpoint takes. */
  readonly endpoint: string;
  readonly configFile: string;
  readonly proc: Proc;
  /** HAProxy's log so far (health check results, sessions). */
  log(): Promise<string>;
}

export function haproxyBinary(): string {
  return components().haproxy?.path ?? DEFAULT_HAPROXY;
}

/** Writes the config into the node's dir, checks it (`haproxy -c`), runs haproxy in the node and waits for its port. */
export async function startHaproxy(node: TestbedNode, options: HaproxyOptions): Promise<ApiLoadBalancer> {
  const port = options.port ?? 6443;
  const configFile = path.join(node.dir, 'haproxy.cfg');
  await writeFile(configFile, haproxyConfig(node.ip, options));
  const bin = haproxyBinary();
  await run(bin, ['-c', '-q', '-f', configFile]).catch((err: Error & { stderr?: string }) => {
    throw new Error(`haproxy rejects ${configFile}: ${err.stderr ?? err.message}`, { cause: err });
  });
  // -db: foreground, no daemon (the bed stops its process group)
  const proc = await node.spawn('haproxy', bin, ['-db', '-f', configFile]);
  const endpoint = `${node.ip}:${port}`;
  await waitFor(
    `haproxy listening on ${endpoint}`,
    () =>
      new Promise<true | undefined>((resolve) => {
        const s = net.connect({ host: node.ip, port }, () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(undefined));
      }),
    10_000,
    50,
  );
  return { node, endpoint, configFile, proc, log: () => readFile(proc.logFile, 'utf8').catch(() => '') };
}
