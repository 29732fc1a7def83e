/**
 * One GET without credentials, the serving certificate not verified: how the agent's start-after
 * gate, its API-readiness wait, init's wait-control-plane and the agent phase look at an endpoint.
 * node:http rather than fetch: loading fetch's undici costs ≈ 40 ms of CPU, which init pays while
 * kube-apiserver starts beside it.
 */
import https from 'node:https';
import { nodeHttp } from '../util/node-http.js';

/** The HTTP status, or undefined when nothing answered within timeoutMs. */
export async function probeStatus(url: URL, timeoutMs = 1000): Promise<number | undefined> {
  // node:http on first use (src/util/node-http.ts): ≈ 20 ms of the start-up of every command whose
  // chunks include this module, if imported (node --cpu-prof)
  const { get } = url.protocol === 'https:' ? https : nodeHttp();
  return new Promise((resolve) => {
    const req = get(url, { timeout: timeoutMs, rejectUnauthorized: false, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode || undefined);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(undefined));
  });
}

/** A kubelet httpGet probe: true for a status 200–399 (or any status with anyStatus). */
export async function probeSucceeds(url: URL, timeoutMs = 1000, anyStatus = false): Promise<boolean> {
  const code = await probeStatus(url, timeoutMs);
  return code !== undefined && (anyStatus || (code >= 200 && code < 400));
}

/** True when the URL answers 200 (kubeadm's health checks want exactly that). */
export async function probeOnce(url: string, timeoutMs = 5000): Promise<boolean> {
  return (await probeStatus(new URL(url), timeoutMs)) === 200;
}
