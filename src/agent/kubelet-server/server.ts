/**
 * The kubelet API subset the API server uses, on :10250 (HTTPS): `kubectl logs` arrives here as
 * `GET /containerLogs/{ns}/{pod}/{container}` from kube-apiserver with its apiserver-kubelet-client
 * certificate. Every request is authenticated and authorized first (auth.ts):
 *
 *   /healthz                       "ok"
 *   /pods                          v1 PodList of the static pods with live status (as /pods of the local API)
 *   /metrics                       the agent's Prometheus text (as /metrics of the local API)
 *   /containerLogs/{ns}/{pod}/{c}  logs.ts
 *   /exec, /attach, /portForward, /run   refused at once: the agent runs no interactive streams
 *
 * Upgrade requests (how exec/attach/port-forward arrive, SPDY or WebSocket) get the same refusal as
 * a plain HTTP answer on the socket, so the API server passes it on to kubectl instead of hanging.
 */
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { messageOf } from '../../errors.js';
import type { Host } from '../../host/host.js';
import type { Logger } from '../log.js';
import { podList, type AgentView } from '../server.js';
import { authenticate, bearerToken, forbiddenMessage, requestAttributes, type Decide, type TokenAuthenticator, type User } from './auth.js';
import { LogRequestError, logFile, newerAttemptExists, parseLogOptions, streamLog } from './logs.js';

export const UNSUPPORTED_MESSAGE = (what: string): string =>
  `${what} is not supported by the kubestrap agent: it runs static pods without interactive streams; use kubectl logs, or run the command on the node\n`;

const STREAMING: readonly (readonly [string, string])[] = [
  ['/exec/', 'exec'],
  ['/attach/', 'attach'],
  ['/portForward/', 'port-forward'],
  ['/run/', 'run'],
];

export interface KubeletServerOptions {
  view: Pick<AgentView, 'desired' | 'states' | 'errors' | 'metrics'>;
  host: Host;
  logger: Logger;
  certPem: string;
  keyPem: string;
  clientCAPem: string;
  decide: Decide;
  /** Bearer tokens (absent: only client certificates authenticate). */
  authenticateToken?: TokenAuthenticator;
}

export class KubeletServer {
  private server: https.Server | undefined;
  private readonly log: Logger;

  constructor(private readonly opts: KubeletServerOptions) {
    this.log = opts.logger.child({ component: 'kubelet-api' });
  }

  async listen(port: number, address = '0.0.0.0'): Promise<number> {
    const server = https.createServer(
      { key: this.opts.keyPem, cert: this.opts.certPem, ca: this.opts.clientCAPem, requestCert: true, rejectUnauthorized: false },
      (req, res) => {
        void this.handle(req, res);
      },
    );
    server.on('upgrade', (req: IncomingMessage, socket: Duplex) => void this.upgrade(req, socket));
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`cannot listen on ${address}:${port}: ${err.code === 'EADDRINUSE' ? 'the port is in use (a kubelet?)' : err.message}`);
    });
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** 401/403 as the kubelet words them, or undefined when the request may go on. */
  private async refusal(req: IncomingMessage, pathname: string): Promise<{ status: number; body: string } | undefined> {
    let user: User | undefined = authenticate(req);
    const token = user ? undefined : bearerToken(req);
    if (token !== undefined && this.opts.authenticateToken) {
      try {
        user = await this.opts.authenticateToken(token);
      } catch (err) {
        this.log.error('unable to authenticate the request', { error: messageOf(err) });
      }
    }
    if (!user) return { status: 401, body: 'Unauthorized' };
    const attrs = requestAttributes(req.method ?? 'GET', pathname);
    for (const a of attrs) {
      try {
        if (await this.opts.decide(user, a)) return undefined;
      } catch (err) {
        this.log.error('authorization error', { user: user.name, error: messageOf(err) });
        return { status: 500, body: `Authorization error (user=${user.name}, verb=${a.verb}, resource=nodes, subresource=${a.subresource})` };
      }
    }
    this.log.info('forbidden', { user: user.name, path: pathname });
    return { status: 403, body: forbiddenMessage(user, attrs) };
  }

  private async upgrade(req: IncomingMessage, socket: Duplex): Promise<void> {
    const pathname = new URL(req.url ?? '/', 'https://localhost').pathname;
    const refused = await this.refusal(req, pathname);
    const what = STREAMING.find(([p]) => pathname.startsWith(p))?.[1];
    const { status, body } = refused ?? { status: what ? 501 : 404, body: what ? UNSUPPORTED_MESSAGE(what) : '404 page not found\n' };
    const reason = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error', 501: 'Not Implemented' }[status] ?? 'Error';
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://localhost');
    const text = (status: number, body: string): void => void res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(body);
    try {
      const refused = await this.refusal(req, url.pathname);
      if (refused) return text(refused.status, refused.body);
      const streaming = STREAMING.find(([p]) => url.pathname.startsWith(p));
      if (streaming) return text(501, UNSUPPORTED_MESSAGE(streaming[1]));
      if (url.pathname === '/healthz') return text(200, 'ok');
      if (url.pathname === '/pods' || url.pathname === '/pods/') {
        const body = `${JSON.stringify(podList(this.opts.view))}\n`;
        res.writeHead(200, { 'content-type': 'application/json' }).end(body);
        return;
      }
      if (url.pathname === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(this.opts.view.metrics());
        return;
      }
      if (url.pathname.startsWith('/containerLogs/')) return await this.containerLogs(url, req, res);
      text(404, '404 page not found\n');
    } catch (err) {
      if (err instanceof LogRequestError) return text(err.status, err.message);
      this.log.error('request failed', { path: url.pathname, error: messageOf(err) });
      if (!res.headersSent) text(500, 'internal error\n');
      else res.destroy();
    }
  }

  private async containerLogs(url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const [namespace, podName, container] = url.pathname.slice('/containerLogs/'.length).split('/').map(decodeURIComponent);
    if (!podName) throw new LogRequestError(400, '{"message": "Missing podID."}');
    if (!container) throw new LogRequestError(400, '{"message": "Missing container name."}');
    if (!namespace) throw new LogRequestError(400, '{"message": "Missing podNamespace."}');
    const opts = parseLogOptions(url.searchParams);
    const find = () => {
      const states = this.opts.view.states();
      const pods = [...this.opts.view.desired(), ...states.map((s) => s.pod)];
      return pods.find((p) => p.namespace === namespace && p.name === podName);
    };
    const pod = find();
    if (!pod) throw new LogRequestError(404, `pod "${podName}" does not exist`);
    const spec = [...(pod.pod.spec?.initContainers ?? []), ...(pod.pod.spec?.containers ?? [])];
    if (!spec.some((c) => c.name === container)) throw new LogRequestError(404, `container "${container}" not found in pod "${podName}"`);
    const file = await logFile({ host: this.opts.host, namespace, pod: podName, uid: pod.uid, container }, opts.previous);
    let open = true;
    req.on('close', () => (open = false));
    res.on('close', () => (open = false));
    res.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' });
    (res.socket as Socket | null)?.setNoDelay(true);
    await streamLog(file, opts, {
      write: (chunk) => res.write(chunk),
      open: () => open,
      // the attempt is over when a newer one has a file, or the pod is no longer this agent's
      attemptOver: async () => (await newerAttemptExists(file)) || find()?.uid !== pod.uid,
    });
    res.end();
  }
}
