/**
 * The kubelet's first TLS bootstrap request, made ahead of it (`kubestrap join`, issue 12).
 * `prepareAheadRequest` puts the key the kubelet's LoadClientCert will pick in the cert dir (the
 * current pair's, else `kubelet-client.key.tmp`), so it must run before the kubelet starts; then
 * `submit()` creates the `node-csr-<digest>` request the kubelet would make with that key. The
 * kubelet's own create then meets AlreadyExists, checks the request is compatible (subject, signer,
 * signed by its key) and watches it: the controller-manager's approval and signing overlap the
 * kubelet's start-up. Kept off @kubernetes/client-node (≈ 0.4 s of CPU before the kubelet could
 * start); the CSR encoder loads in `submit()`, while the kubelet starts.
 */
import { HostError } from '../../errors.js';
import type { Host } from '../../host/host.js';
import type { LoadedKubeconfig } from '../../kubeconfig/load.js';
import { rawRequest } from '../../kube/raw.js';
import { ClientCertStore } from './cert-store.js';

const CSR_PATH = '/apis/certificates.k8s.io/v1/certificatesigningrequests';

export interface AheadRequest {
  /** Creates the request; resolves to its name (also when it exists already: the kubelet checks it is compatible). */
  submit(): Promise<string>;
}

/** Writes (or finds) the bootstrap key in `certDir` (a host path); `credentials` are the bootstrap kubeconfig's. */
export async function prepareAheadRequest(host: Host, nodeName: string, certDir: string, credentials: LoadedKubeconfig): Promise<AheadRequest> {
  const key = await new ClientCertStore(host, certDir).bootstrapKey();
  return {
    async submit(): Promise<string> {
      const { digestedName, nodeClientUsages, nodeCsrObject, nodeCsrPem, nodeSubject } = await import('./node-csr.js');
      const usages = nodeClientUsages(key);
      const name = digestedName(key, nodeSubject(nodeName), usages);
      const body = nodeCsrObject(await nodeCsrPem(nodeName, key), usages, name);
      const res = await rawRequest(credentials, 'POST', CSR_PATH, { body, timeoutMs: 5000 });
      if (res.status === 201 || res.status === 409) return name;
      let message = res.body.slice(0, 200);
      try {
        message = String((JSON.parse(res.body) as { message?: unknown }).message ?? message);
      } catch {
        // not a Status object: its first bytes
      }
      throw new HostError(`creating certificate signing request ${name}: HTTP ${res.status}: ${message}`);
    },
  };
}
