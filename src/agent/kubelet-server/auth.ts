/**
 * Authentication and authorization of the kubelet API, as the kubelet does it with kubeadm's
 * settings (pkg/kubelet/server/auth.go, server.go InstallAuthFilter):
 *  - authentication: a client certificate verified against the client CA (CN = user, O = groups),
 *    else a bearer token through a TokenReview (webhook authentication, cached 2 minutes);
 *    anonymous requests are refused with 401 "Unauthorized";
 *  - authorization (Webhook mode): a SubjectAccessReview per request for resource `nodes`, name = the
 *    node, verb from the HTTP method, subresource from the path (fine-grained authz, GA in 1.36:
 *    /pods → pods then proxy, /healthz → healthz then proxy; /stats, /metrics, /logs, /checkpoint
 *    their own; everything else proxy, /containerLogs included); allowed if any is allowed, else
 *    403 "Forbidden (user=…, verb=…, resource=nodes, subresource(s)=[…])". Decisions are cached as
 *    the kubelet's defaults say: allowed 5 minutes, denied 30 seconds.
 * Without a kubeconfig (a standalone agent) every authenticated client is allowed (AlwaysAllow).
 */
import type https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { messageOf } from '../../errors.js';
import type { LoadedKubeconfig } from '../../kubeconfig/load.js';
import { httpsAgentFor, rawRequest } from '../../kube/raw.js';

export interface User {
  name: string;
  groups: string[];
}

export interface Attributes {
  verb: string;
  subresource: string;
}

const VERBS: Readonly<Record<string, string>> = { POST: 'create', GET: 'get', HEAD: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

const isSubpath = (p: string, prefix: string): boolean => p === prefix || p.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`);

/** Path prefix → subresources tried in order (fine-grained first, then the classic one). */
const FINE_GRAINED: readonly (readonly [string, string])[] = [
  ['/pods', 'pods'],
  ['/healthz', 'healthz'],
  ['/configz', 'configz'],
  ['/runningpods/', 'pods'],
];
const CLASSIC: readonly (readonly [string, string])[] = [
  ['/stats', 'stats'],
  ['/metrics', 'metrics'],
  ['/logs', 'log'],
  ['/checkpoint', 'checkpoint'],
  ['/statusz', 'statusz'],
  ['/flagz', 'configz'],
];

export function requestAttributes(method: string, path: string): Attributes[] {
  const verb = VERBS[method] ?? '';
  const out: string[] = [];
  const fine = FINE_GRAINED.find(([p]) => isSubpath(path, p));
  if (fine) out.push(fine[1]);
  out.push(CLASSIC.find(([p]) => isSubpath(path, p))?.[1] ?? 'proxy');
  return out.map((subresource) => ({ verb, subresource }));
}

/** The verified client certificate's user, or undefined (anonymous, or a certificate of another CA). */
export function authenticate(req: IncomingMessage): User | undefined {
  const socket = req.socket as TLSSocket;
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.subject) return undefined;
  const field = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  const name = field(cert.subject.CN)[0];
  if (!name) return undefined;
  return { name, groups: [...field(cert.subject.O), 'system:authenticated'] };
}

/** The bearer token of a request, if any. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

export type TokenAuthenticator = (token: string) => Promise<User | undefined>;

export function forbiddenMessage(user: User, attrs: readonly Attributes[]): string {
  return `Forbidden (user=${user.name}, verb=${attrs[0]?.verb ?? ''}, resource=nodes, subresource(s)=[${attrs.map((a) => a.subresource).join(' ')}])\n`;
}

export type Decide = (user: User, attrs: Attributes) => Promise<boolean>;

/** Always allow (no kubeconfig: no API server to ask). */
export const alwaysAllow: Decide = async () => true;

const ALLOWED_TTL_MS = 5 * 60_000;
const DENIED_TTL_MS = 30_000;
const TOKEN_TTL_MS = 2 * 60_000;

/** The kubelet's Webhook authorizer: SubjectAccessReview through the node's kubeconfig, cached. */
export class SubjectAccessReviewer {
  private readonly cache = new Map<string, { allowed: boolean; until: number }>();
  private agent: https.Agent;

  constructor(
    private kubeconfig: LoadedKubeconfig,
    private readonly nodeName: string,
    private readonly now: () => number = Date.now,
  ) {
    this.agent = httpsAgentFor(kubeconfig, true);
  }

  /** New credentials (a rotated client certificate): later reviews use them; open connections are closed. */
  reload(kubeconfig: LoadedKubeconfig): void {
    const old = this.agent;
    this.kubeconfig = kubeconfig;
    this.agent = httpsAgentFor(kubeconfig, true);
    old.destroy();
  }

  private readonly tokens = new Map<string, { user?: User; until: number }>();

  /** The kubelet's webhook token authenticator: a TokenReview, cached 2 minutes. */
  readonly authenticateToken: TokenAuthenticator = async (token) => {
    const hit = this.tokens.get(token);
    if (hit && hit.until > this.now()) return hit.user;
    const res = await rawRequest(this.kubeconfig, 'POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
      agent: this.agent,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
    });
    if (res.status !== 201 && res.status !== 200) throw new Error(`TokenReview: HTTP ${res.status}: ${res.body.slice(0, 200)}`);
    const status = (JSON.parse(res.body) as { status?: { authenticated?: boolean; user?: { username?: string; groups?: string[] } } }).status;
    const user = status?.authenticated && status.user?.username ? { name: status.user.username, groups: status.user.groups ?? [] } : undefined;
    if (this.tokens.size > 1000) this.tokens.clear();
    this.tokens.set(token, { user, until: this.now() + TOKEN_TTL_MS });
    return user;
  };

  readonly decide: Decide = async (user, attrs) => {
    const key = JSON.stringify([user.name, [...user.groups].sort(), attrs.verb, attrs.subresource]);
    const hit = this.cache.get(key);
    if (hit && hit.until > this.now()) return hit.allowed;
    const allowed = await this.review(user, attrs);
    this.cache.set(key, { allowed, until: this.now() + (allowed ? ALLOWED_TTL_MS : DENIED_TTL_MS) });
    return allowed;
  };

  private async review(user: User, attrs: Attributes): Promise<boolean> {
    const res = await rawRequest(this.kubeconfig, 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      agent: this.agent,
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          resourceAttributes: { verb: attrs.verb, version: 'v1', resource: 'nodes', subresource: attrs.subresource, name: this.nodeName },
          user: user.name,
          groups: user.groups,
        },
      },
    });
    if (res.status !== 201 && res.status !== 200) throw new Error(`SubjectAccessReview: HTTP ${res.status}: ${res.body.slice(0, 200)}`);
    try {
      return (JSON.parse(res.body) as { status?: { allowed?: boolean } }).status?.allowed === true;
    } catch (err) {
      throw new Error(`SubjectAccessReview: ${messageOf(err)}`, { cause: err });
    }
  }

  close(): void {
    this.agent.destroy();
  }
}
