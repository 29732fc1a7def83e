/**
 * Requests to the agent's local API: the root-only unix socket (AGENT_SOCKET under the rootfs), or
 * the TCP read-only port when one is given explicitly (`--read-only-port`).
 */
import { AGENT_SOCKET } from '../config/defaults.js';
import { HostError, messageOf } from '../errors.js';
import type { Host } from '../host/host.js';
import { nodeHttp } from '../util/node-http.js';

export interface AgentEndpoint {
  host: Host;
  /** Use 127.0.0.1:<port> instead of the socket. */
  port?: number;
}

export interface AgentAnswer {
  status: number;
  body: string;
}

function where(ep: AgentEndpoint): string {
  return ep.port !== undefined ? `127.0.0.1:${ep.port}` : ep.host.path(AGENT_SOCKET);
}

export async function agentRequest(ep: AgentEndpoint, method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 10_000): Promise<AgentAnswer> {
  // loaded here: node:http costs init commands ≈ 20 ms of start-up (src/util/node-http.ts)
  const http = nodeHttp();
  const target = ep.port !== undefined ? { host: '127.0.0.1', port: ep.port } : { socketPath: ep.host.path(AGENT_SOCKET) };
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        ...target,
        method,
        path,
        timeout: timeoutMs,
        headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
          ? 'the agent is not running'
          : err.code === 'EACCES'
            ? 'permission denied (the socket is root only)'
            : messageOf(err);
      reject(
        new HostError(`cannot reach the kubestrap agent at ${where(ep)}: ${why}`, {
          hint: 'is `kubestrap agent` running? (--rootfs, --read-only-port)',
          cause: err,
        }),
      );
    });
    req.end(payload);
  });
}

/** GET a JSON document from the agent; any status but 200 is an error naming the path. */
export async function agentJson<T>(ep: AgentEndpoint, path: string): Promise<T> {
  const res = await agentRequest(ep, 'GET', path);
  if (res.status !== 200) throw new HostError(`the agent answered ${path} with HTTP ${res.status}: ${res.body.trim()}`);
  return JSON.parse(res.body) as T;
}
