/**
 * The client identity kubestrap uses for etcd's API: the etcd CA plus a client pair init writes on
 * every control-plane node (kubeadm's etcdutil uses the healthcheck client for member operations).
 */
import path from 'node:path';
import { HostError } from '../errors.js';
import type { Host } from '../host/host.js';
import type { EtcdTls } from './client.js';

/** Client pairs under the pki dir that etcd accepts (both signed by etcd/ca). */
export const ETCD_CLIENT_PAIRS = { healthcheck: 'etcd/healthcheck-client', apiserver: 'apiserver-etcd-client' } as const;

export async function readEtcdTls(host: Host, pkiDir: string, pair: keyof typeof ETCD_CLIENT_PAIRS = 'healthcheck'): Promise<EtcdTls> {
  const base = ETCD_CLIENT_PAIRS[pair];
  const files = { ca: 'etcd/ca.crt', cert: `${base}.crt`, key: `${base}.key` };
  const read = async (rel: string): Promise<Buffer> => {
    const file = path.posix.join(pkiDir, rel);
    const content = await host.readOptional(file);
    if (content === undefined)
      throw new HostError(`${host.path(file)} does not exist`, {
        hint: 'etcd is reached with the etcd CA and a client certificate; run `kubestrap init phase certs all` or restore the file',
      });
    return content;
  };
  return { ca: await read(files.ca), cert: await read(files.cert), key: await read(files.key) };
}
