/**
 * The node-local API load balancer (beyond kubeadm, as k0s and RKE2 have): a TCP proxy on
 * 127.0.0.1 that spreads connections round-robin over the API servers that pass a health check, so a
 * kubelet or agent pointing at it survives the loss of any one control-plane node without a
 * load-balancer machine. TCP, not HTTP: TLS runs end to end between the client and the API server, so
 * client certificates keep working. Clients dial https://127.0.0.1:<port> with `tls-server-name:
 * kubernetes` in their kubeconfig: every API server's certificate names `kubernetes`, none need list
 * 127.0.0.1.
 *
 * Upstreams are the configured seeds plus what discovery reports (the `kubernetes` EndpointSlice).
 * One that leaves the set drains: no new connections, its open ones are closed after drainTimeoutMs
 * (long watches would otherwise pin a removed server forever).
 */
import https from 'node:https';
import net from 'node:net';
import { ConfigError } from '../errors.js';
import { joinHostPort, splitHostPort } from '../net/address.js';

export interface Upstream {
  host: string;
  port: number;
}

/** Whether an upstream can take connections; resolves false (never rejects) when it cannot. */
export type HealthCheck = (upstream: Upstream, timeoutMs: number) => Promise<boolean>;

export interface BalancerOptions {
  listen: Upstream;
  /** Always part of the set (the endpoint join was given, a control-plane list). */
  seeds: readonly Upstream[];
  /** Default 2 s; each check may take half of it. */
  healthIntervalMs?: number;
  check?: HealthCheck;
  /** How long connections to a removed upstream may go on (default 60 s). */
  drainTimeoutMs?: number;
  /** A dial that takes longer counts as a failure and the next upstream is tried (default 3 s). */
  connectTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface UpstreamStatus {
  address: string;
  /** undefined: not checked yet. */
  healthy: boolean | undefined;
  connections: number;
  draining: boolean;
}

interface Entry {
  upstream: Upstream;
  healthy: boolean | undefined;
  sockets: Set<net.Socket>;
  drainTimer?: NodeJS.Timeout;
}

/** The default check: a TCP connect (an API server that accepts is as far as TCP can tell). */
export const tcpCheck: HealthCheck = (u, timeoutMs) =>
  new Promise((resolve) => {
    const s = net.connect({ host: u.host, port: u.port });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });

/**
 * The API server's own readiness (GET /readyz, open to anonymous clients by kubeadm's RBAC), its
 * certificate verified against the cluster CA for the name `kubernetes`: a server whose etcd is gone
 * still accepts TCP but answers 500 here.
 */
export function readyzCheck(caPem: string | Buffer): HealthCheck {
  return (u, timeoutMs) =>
    new Promise((resolve) => {
      const req = https.get({ host: u.host, port: u.port, path: '/readyz', ca: caPem, servername: 'kubernetes', timeout: timeoutMs, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
    });
}

/** The `kubernetes` Service's EndpointSlices (discovery.k8s.io/v1), as far as the balancer reads them. */
export interface ApiEndpointSlice {
  ports?: { name?: string; port?: number }[] | null;
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean; terminating?: boolean } }[] | null;
}

/** Every ready API server address of the slices, on the slice's `https` port (the API servers' secure port). */
export function upstreamsOfSlices(slices: readonly ApiEndpointSlice[]): Upstream[] {
  const out: Upstream[] = [];
  for (const slice of slices) {
    const port = (slice.ports ?? []).find((p) => p.name === 'https')?.port ?? slice.ports?.[0]?.port;
    if (!port) continue;
    for (const ep of slice.endpoints ?? []) {
      // ready unset means ready (the EndpointSlice API's rule); a terminating server is on its way out
      if (ep.conditions?.ready === false || ep.conditions?.terminating === true) continue;
      for (const host of ep.addresses) out.push({ host, port });
    }
  }
  return out;
}

/** A `host:port` flag value (`--seed`, `--api-lb-seed`, `--listen`); one line naming the flag when it is not. */
export function parseUpstream(text: string, field: string): Upstream {
  const { host, port } = splitHostPort(text);
  const n = Number(port);
  if (!host || port === '' || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new ConfigError(`${JSON.stringify(text)} is not host:port`, { field, hint: 'e.g. 10.0.0.11:6443' });
  }
  return { host, port: n };
}

export const upstreamKey = (u: Upstream): string => joinHostPort(u.host, u.port);

export class ApiBalancer {
  private readonly entries = new Map<string, Entry>();
  private readonly draining = new Set<Entry>();
  private readonly server: net.Server;
  private discovered: Upstream[] = [];
  private next = 0;
  private timer?: NodeJS.Timeout;
  private readonly opts: Required<Omit<BalancerOptions, 'log'>> & Pick<BalancerOptions, 'log'>;

  constructor(options: BalancerOptions) {
    this.opts = { healthIntervalMs: 2000, check: tcpCheck, drainTimeoutMs: 60_000, connectTimeoutMs: 3000, ...options };
    this.server = net.createServer({ pauseOnConnect: true }, (client) => this.accept(client));
    this.apply();
  }

  /** Listens, checks every upstream once (so the first connections go to healthy ones), then keeps checking. */
  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.listen.port, this.opts.listen.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    await this.checkAll();
    this.timer = setInterval(() => void this.checkAll(), this.opts.healthIntervalMs);
    this.timer.unref();
  }

  /** The port it listens on (the one given, or the one the OS chose for port 0). */
  port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** What discovery found now (replaces the previous report; the seeds stay). */
  setDiscovered(upstreams: readonly Upstream[]): void {
    this.discovered = [...upstreams];
    this.apply();
  }

  status(): UpstreamStatus[] {
    const row = (e: Entry, draining: boolean): UpstreamStatus => ({
      address: upstreamKey(e.upstream),
      healthy: e.healthy,
      connections: e.sockets.size,
      draining,
    });
    return [...[...this.entries.values()].map((e) => row(e, false)), ...[...this.draining].map((e) => row(e, true))];
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const e of [...this.entries.values(), ...this.draining]) {
      clearTimeout(e.drainTimer);
      for (const s of e.sockets) s.destroy();
    }
    await closed;
  }

  private apply(): void {
    const wanted = new Map<string, Upstream>();
    for (const u of [...this.opts.seeds, ...this.discovered]) wanted.set(upstreamKey(u), u);
    for (const [key, u] of wanted) {
      if (this.entries.has(key)) continue;
      const e: Entry = { upstream: u, healthy: undefined, sockets: new Set() };
      this.entries.set(key, e);
      this.opts.log?.(`[lb] upstream ${key} added`);
      if (this.timer) void this.checkOne(e);
    }
    for (const [key, e] of this.entries) {
      if (wanted.has(key)) continue;
      this.entries.delete(key);
      if (e.sockets.size === 0) {
        this.opts.log?.(`[lb] upstream ${key} removed`);
        continue;
      }
      this.opts.log?.(`[lb] upstream ${key} removed: draining ${e.sockets.size} connection(s) for up to ${this.opts.drainTimeoutMs / 1000}s`);
      this.draining.add(e);
      e.drainTimer = setTimeout(() => {
        for (const s of e.sockets) s.destroy();
        this.draining.delete(e);
      }, this.opts.drainTimeoutMs);
      e.drainTimer.unref();
    }
  }

  private async checkOne(e: Entry): Promise<void> {
    const ok = await this.opts.check(e.upstream, Math.max(100, Math.floor(this.opts.healthIntervalMs / 2)));
    if (ok === e.healthy || this.entries.get(upstreamKey(e.upstream)) !== e) return;
    if (e.healthy !== undefined || !ok) this.opts.log?.(`[lb] upstream ${upstreamKey(e.upstream)} is ${ok ? 'healthy again' : 'unhealthy'}`);
    e.healthy = ok;
  }

  private async checkAll(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => this.checkOne(e)));
  }

  /** Healthy upstreams in round-robin order, then the unchecked, then (a last resort while checks lag) the rest. */
  private candidates(): Entry[] {
    const all = [...this.entries.values()];
    const healthy = all.filter((e) => e.healthy === true);
    const start = this.next++;
    const rotated = healthy.map((_, i) => healthy[(start + i) % healthy.length]!);
    return [...rotated, ...all.filter((e) => e.healthy === undefined), ...all.filter((e) => e.healthy === false)];
  }

  private accept(client: net.Socket): void {
    const candidates = this.candidates();
    client.on('error', () => undefined);
    const attempt = (i: number): void => {
      const e = candidates[i];
      if (client.destroyed) return;
      if (!e) {
        this.opts.log?.(`[lb] no API server reachable (${candidates.length} tried); closing the connection from ${client.remoteAddress}:${client.remotePort}`);
        client.destroy();
        return;
      }
      const server = net.connect({ host: e.upstream.host, port: e.upstream.port });
      server.setTimeout(this.opts.connectTimeoutMs, () => server.destroy(new Error('connect timeout')));
      const failed = (err: Error): void => {
        if (e.healthy !== false) this.opts.log?.(`[lb] upstream ${upstreamKey(e.upstream)} is unhealthy: ${err.message}`);
        e.healthy = false;
        attempt(i + 1);
      };
      server.once('error', failed);
      server.once('connect', () => {
        server.off('error', failed);
        server.setTimeout(0);
        server.on('error', () => undefined);
        server.setNoDelay(true);
        client.setNoDelay(true);
        e.sockets.add(server);
        const close = (): void => {
          e.sockets.delete(server);
          client.destroy();
          server.destroy();
          if (e.sockets.size === 0 && this.draining.delete(e)) clearTimeout(e.drainTimer);
        };
        server.once('close', close);
        client.once('close', close);
        client.pipe(server);
        server.pipe(client);
        client.resume();
      });
    };
    attempt(0);
  }
}
