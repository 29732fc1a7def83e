/**
 * One probe attempt with the kubelet's semantics: httpGet (HTTPS without verification, 200–399 is
 * success, kube-probe User-Agent, named ports), tcpSocket (connect from the node) and exec (through
 * the runtime, exit 0 is success).
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { V1Container, V1Probe } from '@kubernetes/client-node';

export interface ProbeOutcome {
  ok: boolean;
  /** Why it failed (or a note on success), as the kubelet words it. */
  message: string;
}

export interface ProbeTarget {
  container: V1Container;
  /** Address probes go to when the probe names no host (hostNetwork pods: 127.0.0.1). */
  host: string;
  exec(command: string[], timeoutMs: number): Promise<{ exitCode: number; output: string }>;
}

/** kube-probe/<major>.<minor> like the kubelet it replaces. */
export const PROBE_USER_AGENT = 'kube-probe/1.34';
const MAX_BODY = 10 * 1024;

/** A probe port: a number, a numeric string, or the name of a container port. */
export function resolvePort(port: number | string | undefined, container: V1Container): number | undefined {
  if (typeof port === 'number') return port;
  if (port === undefined || port === '') return undefined;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

function httpProbe(probe: NonNullable<V1Probe['httpGet']>, target: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
  const port = resolvePort(probe.port as number | string, target.container);
  if (port === undefined) return Promise.resolve({ ok: false, message: `port ${String(probe.port)} is not a container port` });
  const scheme = (probe.scheme ?? 'HTTP').toLowerCase();
  const host = probe.host || target.host;
  const headers: Record<string, string> = {};
  for (const h of probe.httpHeaders ?? []) headers[h.name] = h.value;
  const names = new Set(Object.keys(headers).map((k) => k.toLowerCase()));
  if (!names.has('user-agent')) headers['User-Agent'] = PROBE_USER_AGENT;
  if (!names.has('accept')) headers['Accept'] = '*/*';
  let path = probe.path ?? '/';
  if (!path.startsWith('/')) path = `/${path}`;
  const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;
  return new Promise<ProbeOutcome>((resolve) => {
    const lib = scheme === 'https' ? https : http;
    const req = lib.request(url, { method: 'GET', headers, timeout: timeoutMs, rejectUnauthorized: false, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < MAX_BODY) body += chunk;
      });
      const finish = (): void => {
        const code = res.statusCode ?? 0;
        if (code >= 200 && code < 400) resolve({ ok: true, message: '' });
        else resolve({ ok: false, message: `HTTP probe failed with statuscode: ${code}${body ? `: ${body.slice(0, 200).trim()}` : ''}` });
      };
      res.on('end', finish);
      res.on('error', finish);
    });
    req.on('timeout', () => {
      req.destroy();
      resolve({ ok: false, message: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` });
    });
    req.on('error', (err) => resolve({ ok: false, message: `Get "${url}": ${err.message}` }));
    req.end();
  });
}

function tcpProbe(probe: NonNullable<V1Probe['tcpSocket']>, target: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
  const port = resolvePort(probe.port as number | string, target.container);
  if (port === undefined) return Promise.resolve({ ok: false, message: `port ${String(probe.port)} is not a container port` });
  const host = probe.host || target.host;
  return new Promise<ProbeOutcome>((resolve) => {
    const sock = net.connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` });
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ ok: true, message: '' });
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      resolve({ ok: false, message: `dial tcp ${host}:${port}: ${err.message}` });
    });
  });
}

async function execProbe(probe: NonNullable<V1Probe['exec']>, target: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
  try {
    const r = await target.exec(probe.command ?? [], timeoutMs);
    if (r.exitCode === 0) return { ok: true, message: '' };
    return { ok: false, message: `command ${JSON.stringify(probe.command ?? [])} exited with ${r.exitCode}: ${r.output.trim().slice(0, 200)}` };
  } catch (err) {
    return { ok: false, message: `exec failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** Runs the probe once; never throws. */
export function runProbe(probe: V1Probe, target: ProbeTarget): Promise<ProbeOutcome> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.httpGet) return httpProbe(probe.httpGet, target, timeoutMs);
  if (probe.tcpSocket) return tcpProbe(probe.tcpSocket, target, timeoutMs);
  if (probe.exec) return execProbe(probe.exec, target, timeoutMs);
  return Promise.resolve({ ok: false, message: 'probe has no handler (httpGet, tcpSocket or exec)' });
}
