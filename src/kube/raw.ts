/**
 * One request to the API server with a kubeconfig's credentials over node:https, for the few calls
 * that must not load @kubernetes/client-node (≈ 0.2 s of CPU): the agent's SubjectAccessReviews,
 * `certs renew` reading kubeadm-config.
 */
import https from 'node:https';
import type { LoadedKubeconfig } from '../kubeconfig/load.js';

export interface RawAnswer {
  status: number;
  body: string;
}

export function httpsAgentFor(kc: LoadedKubeconfig, keepAlive = false): https.Agent {
  return new https.Agent({ keepAlive, ca: kc.caPem, cert: kc.clientCertPem, key: kc.clientKeyPem, maxSockets: 4 });
}

export function rawRequest(
  kc: LoadedKubeconfig,
  method: 'GET' | 'POST',
  path: string,
  options: { body?: unknown; agent?: https.Agent; timeoutMs?: number } = {},
): Promise<RawAnswer> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers: Record<string, string | number> = { accept: 'application/json' };
  if (payload !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  if (kc.token) headers.authorization = `Bearer ${kc.token}`;
  const agent = options.agent ?? httpsAgentFor(kc);
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(path, kc.server), { method, agent, headers, timeout: options.timeoutMs ?? 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${Math.round((options.timeoutMs ?? 10_000) / 1000)} s`)));
    req.on('error', reject);
    req.end(payload);
  }).finally(() => {
    if (!options.agent) agent.destroy();
  }) as Promise<RawAnswer>;
}
