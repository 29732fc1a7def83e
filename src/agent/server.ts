/**
 * The agent's read-only HTTP server on 127.0.0.1 (the kubelet's read-only port, 10255), plain HTTP
 * and no auth, so it binds to loopback only:
 *
 *   /healthz   "ok"
 *   /pods      a v1 PodList of the desired pods with live status from the workers (plus pods still
 *              being stopped). A pod kept running from last good content while its manifest is broken
 *              carries the annotation `kubestrap.io/source-error` with the error.
 *   /errors    every current source error (also those of origins with no pod), as a
 *              `SourceErrorList`: {kind, items: [{source, origin, message, keptPod?, since}]}
 *   /metrics   Prometheus text
 */
import { chmod, mkdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RestartReport } from './restart.js';
import type { V1Pod, V1PodList } from '@kubernetes/client-node';
import { ANNOTATION_ERRORS, ANNOTATION_SOURCE_ERROR } from './annotations.js';
import type { Logger } from './log.js';
import type { PodState, SourceError, StaticPod } from './pod-types.js';

/** What the server shows; the agent implements it over merger + workers. */
export interface AgentView {
  desired(): StaticPod[];
  states(): PodState[];
  /** Pods whose containers are still being stopped (a removed manifest's, an old version's). */
  stopping?(): PodState[];
  errors(): SourceError[];
  /** Prometheus text exposition. */
  metrics(): string;
  /** Restarts the pods using any of these host files (src/agent/restart.ts); local socket only. */
  restartUsing?(files: string[], reason: string): Promise<RestartReport>;
}

export interface SourceErrorList {
  kind: 'SourceErrorList';
  items: { source: string; origin: string; message: string; keptPod?: { namespace: string; name: string }; since: string }[];
}

/** The /pods body: desired pods (state from the workers when they have one), then pods still stopping. */
export function podList(view: Pick<AgentView, 'desired' | 'states' | 'errors' | 'stopping'>): V1PodList {
  const states = new Map([...(view.stopping?.() ?? []), ...view.states()].map((s) => [s.pod.uid, s]));
  const errorsByPod = new Map<string, string>();
  for (const e of view.errors()) {
    if (e.keptPod) errorsByPod.set(`${e.keptPod.namespace}/${e.keptPod.name}`, e.message);
  }
  const items: V1Pod[] = [];
  const render = (pod: StaticPod, state: PodState | undefined): V1Pod => {
    const out = structuredClone(pod.pod);
    out.status = state ? structuredClone(state.status) : { phase: 'Pending' };
    const err = errorsByPod.get(`${pod.namespace}/${pod.name}`);
    const workerErrors = state?.errors ?? [];
    if (err !== undefined || workerErrors.length > 0) {
      out.metadata = { ...out.metadata, annotations: { ...out.metadata?.annotations } };
      if (err !== undefined) out.metadata.annotations![ANNOTATION_SOURCE_ERROR] = err;
      if (workerErrors.length > 0) out.metadata.annotations![ANNOTATION_ERRORS] = workerErrors.join('; ');
    }
    return out;
  };
  const desiredUids = new Set<string>();
  for (const pod of view.desired()) {
    desiredUids.add(pod.uid);
    items.push(render(pod, states.get(pod.uid)));
  }
  for (const state of states.values()) if (!desiredUids.has(state.pod.uid)) items.push(render(state.pod, state));
  return { apiVersion: 'v1', kind: 'PodList', metadata: {}, items };
}

export function sourceErrorList(errors: SourceError[]): SourceErrorList {
  return {
    kind: 'SourceErrorList',
    items: errors.map((e) => ({ source: e.source, origin: e.origin, message: e.message, keptPod: e.keptPod, since: e.since.toISOString() })),
  };
}

type Route = (view: AgentView) => { type: string; body: string };

const json = (value: unknown): { type: string; body: string } => ({ type: 'application/json', body: `${JSON.stringify(value)}\n` });

const ROUTES: Readonly<Record<string, Route>> = {
  '/healthz': () => ({ type: 'text/plain; charset=utf-8', body: 'ok' }),
  '/pods': (view) => json(podList(view)),
  '/errors': (view) => json(sourceErrorList(view.errors())),
  '/metrics': (view) => ({ type: 'text/plain; version=0.0.4; charset=utf-8', body: view.metrics() }),
};

/** Largest POST body the local socket reads (a list of file paths). */
const MAX_BODY = 64 * 1024;

export class AgentServer {
  private server: HttpServer | undefined;
  private socketServer: HttpServer | undefined;

  constructor(
    private readonly view: AgentView,
    private readonly logger: Logger,
  ) {}

  /** Listens on 127.0.0.1:port (0 = any free port, for tests); resolves with the bound port. */
  async listen(port: number): Promise<number> {
    const server = createServer((req, res) => this.handle(req, res));
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`cannot listen on 127.0.0.1:${port}: ${err.code === 'EADDRINUSE' ? 'the port is in use (another agent or kubelet?)' : err.message}`);
    });
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  /**
   * Serves the same routes on a unix socket only root can open (mode 0600), plus `POST /restart`
   * (`{"files": [...], "reason": "..."}` → RestartReport). A stale socket of an earlier agent is replaced.
   */
  async listenSocket(realPath: string): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res, true));
    await mkdir(path.dirname(realPath), { recursive: true, mode: 0o755 });
    await unlink(realPath).catch(() => undefined);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(realPath, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`cannot listen on ${realPath}: ${err.message}`);
    });
    await chmod(realPath, 0o600);
    this.socketServer = server;
  }

  async close(): Promise<void> {
    const servers = [this.server, this.socketServer].filter((s): s is HttpServer => s !== undefined);
    this.server = undefined;
    this.socketServer = undefined;
    await Promise.all(
      servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    );
  }

  private handle(req: IncomingMessage, res: ServerResponse, local = false): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = ROUTES[url.pathname.replace(/(.)\/+$/, '$1')];
    if (local && req.method === 'POST' && url.pathname === '/restart') {
      void this.restart(req, res);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end('method not allowed\n');
      return;
    }
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`404 page not found\n`);
      return;
    }
    try {
      const { type, body } = route(this.view);
      res.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (err) {
      this.logger.error('read-only server: request failed', { path: url.pathname, error: (err as Error).message });
      res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error\n');
    }
  }

  private async restart(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, value: unknown): void =>
      void res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(value)}\n`);
    try {
      let body = '';
      for await (const chunk of req) {
        body += String(chunk);
        if (body.length > MAX_BODY) return reply(413, { error: 'request too large' });
      }
      const parsed = JSON.parse(body) as { files?: unknown; reason?: unknown };
      const files = Array.isArray(parsed.files) ? parsed.files.filter((f): f is string => typeof f === 'string' && f.startsWith('/')) : [];
      if (files.length === 0) return reply(400, { error: 'expected {"files": ["/absolute/host/path", ...]}' });
      if (!this.view.restartUsing) return reply(501, { error: 'this agent cannot restart pods' });
      const reason = typeof parsed.reason === 'string' && parsed.reason ? parsed.reason : 'requested';
      reply(200, await this.view.restartUsing(files, reason));
    } catch (err) {
      this.logger.error('restart request failed', { error: (err as Error).message });
      if (!res.headersSent) reply(500, { error: (err as Error).message });
    }
  }
}
