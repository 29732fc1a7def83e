/**
 * Reads a kubeconfig file into what a client needs: server URL, CA and client certificate/key PEMs.
 * Follows current-context like kubectl; accepts embedded `*-data` and file paths (kubelet.conf points
 * at the kubelet's rotated client certificate), resolving paths through Host.
 */
import path from 'node:path';
import { parse } from 'yaml';
import { ConfigError, messageOf } from '../errors.js';
import type { Host } from '../host/host.js';

export interface LoadedKubeconfig {
  /** The real path it was read from. */
  file: string;
  contextName: string;
  clusterName: string;
  userName: string;
  server: string;
  caPem?: string;
  clientCertPem?: string;
  clientKeyPem?: string;
  token?: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function named(list: unknown, name: string, kind: string, file: string): Obj {
  const entry = Array.isArray(list) ? list.find((e): e is Obj => isObj(e) && e.name === name) : undefined;
  const inner = entry?.[kind];
  if (!isObj(inner)) {
    throw new ConfigError(`no ${kind} named "${name}"`, { file, field: `${kind}s`, hint: 'the file is not a valid kubeconfig' });
  }
  return inner;
}

/** Parses kubeconfig text; `readFile` resolves `certificate-authority`/`client-*` file references. */
export async function parseKubeconfig(
  text: string,
  file: string,
  readFile: (p: string) => Promise<string> = async () => {
    throw new Error('file references are not supported here');
  },
): Promise<LoadedKubeconfig> {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ConfigError(`is not valid YAML: ${messageOf(err)}`, { cause: err, file });
  }
  if (!isObj(doc)) throw new ConfigError('is not a kubeconfig (expected a mapping)', { file });
  const contextName = doc['current-context'];
  if (typeof contextName !== 'string' || !contextName) {
    throw new ConfigError('has no current-context', { file, field: 'current-context' });
  }
  const context = named(doc.contexts, contextName, 'context', file);
  const clusterName = String(context.cluster ?? '');
  const userName = String(context.user ?? '');
  const cluster = named(doc.clusters, clusterName, 'cluster', file);
  const user = named(doc.users, userName, 'user', file);
  const dir = path.dirname(file);
  const pick = async (data: unknown, ref: unknown, field: string): Promise<string | undefined> => {
    if (typeof data === 'string' && data) return Buffer.from(data, 'base64').toString('utf8');
    if (typeof ref === 'string' && ref) {
      try {
        return await readFile(path.isAbsolute(ref) ? ref : path.join(dir, ref));
      } catch (err) {
        throw new ConfigError(`cannot read ${ref}: ${messageOf(err)}`, { cause: err, file, field });
      }
    }
    return undefined;
  };
  if (typeof cluster.server !== 'string' || !cluster.server) {
    throw new ConfigError('cluster has no server', { file, field: `clusters[${clusterName}].cluster.server` });
  }
  return {
    file,
    contextName,
    clusterName,
    userName,
    server: cluster.server,
    caPem: await pick(cluster['certificate-authority-data'], cluster['certificate-authority'], 'certificate-authority'),
    clientCertPem: await pick(user['client-certificate-data'], user['client-certificate'], 'client-certificate'),
    clientKeyPem: await pick(user['client-key-data'], user['client-key'], 'client-key'),
    token: typeof user.token === 'string' ? user.token : undefined,
  };
}

/** Loads the kubeconfig at a host path (e.g. /etc/kubernetes/admin.conf); undefined if absent. */
export async function loadKubeconfig(host: Host, hostPath: string): Promise<LoadedKubeconfig | undefined> {
  const raw = await host.readOptional(hostPath);
  if (raw === undefined) return undefined;
  // Referenced files are host paths too (the kubelet writes /var/lib/kubelet/pki/...).
  const readRef = async (p: string): Promise<string> => host.readText(p.startsWith(host.rootfs + path.sep) ? p.slice(host.rootfs.length) : p);
  return parseKubeconfig(raw.toString('utf8'), host.path(hostPath), readRef);
}
