/**
 * What a joining node reads from the cluster with its bootstrap token (the RBAC init creates
 * allows each): the kubeadm-config and kubelet-config ConfigMaps, and its own Node (kubeadm refuses
 * to join over a Ready Node of the same name). Plain node:https, as discovery.
 */
import { parse } from 'yaml';
import { HostError, messageOf } from '../errors.js';
import type { LoadedKubeconfig } from '../kubeconfig/load.js';
import { rawRequest } from './raw.js';
import { withRetry } from './retry.js';

/** A non-2xx answer, with the status where isTransient() looks for it. */
class ApiAnswerError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

async function getJson(kc: LoadedKubeconfig, apiPath: string, timeoutMs: number, allow404 = false): Promise<unknown> {
  return withRetry(
    async () => {
      const res = await rawRequest(kc, 'GET', apiPath, { timeoutMs: Math.min(timeoutMs, 10_000) });
      if (res.status === 404 && allow404) return undefined;
      if (res.status !== 200) throw new ApiAnswerError(`GET ${apiPath}: HTTP ${res.status}${res.body ? `: ${res.body.slice(0, 200)}` : ''}`, res.status);
      return JSON.parse(res.body) as unknown;
    },
    { timeoutMs, what: `GET ${apiPath}` },
  ).catch((err: unknown) => {
    throw new HostError(`cannot read ${apiPath} from ${kc.server} with the bootstrap token: ${messageOf(err)}`, { cause: err });
  });
}

/** One key of a kube-system ConfigMap, as stored. */
export async function kubeSystemConfigMapText(kc: LoadedKubeconfig, name: string, key: string, timeoutMs: number): Promise<string> {
  const cm = (await getJson(kc, `/api/v1/namespaces/kube-system/configmaps/${name}`, timeoutMs)) as { data?: Record<string, string> };
  const text = cm.data?.[key];
  if (!text)
    throw new HostError(`the kube-system/${name} ConfigMap has no "${key}" key`, { hint: 'run "kubestrap init phase upload-config all" on the control plane' });
  return text;
}

/** The API server's /version gitVersion (readable by every authenticated identity). */
export async function apiServerVersion(kc: LoadedKubeconfig, timeoutMs: number): Promise<string> {
  return String(((await getJson(kc, '/version', timeoutMs)) as { gitVersion?: unknown }).gitVersion ?? '');
}

/** One key of a kube-system ConfigMap, parsed as YAML. */
export async function kubeSystemConfigMapYaml(kc: LoadedKubeconfig, name: string, key: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const text = await kubeSystemConfigMapText(kc, name, key, timeoutMs);
  const doc = parse(text) as unknown;
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new HostError(`the "${key}" key of kube-system/${name} is not a YAML mapping`);
  return doc as Record<string, unknown>;
}

/** Whether a Node of that name exists and is Ready. */
export async function nodeIsReady(kc: LoadedKubeconfig, name: string, timeoutMs: number): Promise<boolean> {
  const node = (await getJson(kc, `/api/v1/nodes/${encodeURIComponent(name)}`, timeoutMs, true)) as
    { status?: { conditions?: { type?: string; status?: string }[] } } | undefined;
  return node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** The Node if it exists (no retry: the caller's wait loop retries). */
export async function nodeExists(kc: LoadedKubeconfig, name: string, timeoutMs: number): Promise<boolean> {
  const res = await rawRequest(kc, 'GET', `/api/v1/nodes/${encodeURIComponent(name)}`, { timeoutMs });
  return res.status === 200;
}
