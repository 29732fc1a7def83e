/**
 * `join phase control-plane-prepare/download-certs`: the shared CAs and keys from
 * kube-system/kubeadm-certs, decrypted with --certificate-key (AES-256-GCM) and read with the
 * bootstrap token, as kubeadm does. Every entry is decrypted before any file is written; the Secret
 * gone (2 h after its upload) and a key that does not open it are two different one-line errors,
 * each naming `kubestrap init phase upload-certs --upload-certs`. Without a key (kubeadm's manual
 * mode) the files placed by hand are used; preflight has checked they are all there.
 */
import { KUBEADM_CERTS_SECRET } from '../../kube/copycerts.js';
import { downloadCerts } from '../copycerts.js';
import type { Phase } from '../runner.js';
import type { ControlPlaneJoinData } from './data.js';

export const downloadCertsPhase: Phase<ControlPlaneJoinData> = {
  name: 'download-certs',
  help: `Download certificates shared among control-plane nodes from the ${KUBEADM_CERTS_SECRET} Secret`,
  run: async (cp) => {
    const key = cp.certificateKey();
    if (!key) {
      cp.out.line('download-certs', `No certificate key: using the shared certificates in "${cp.host.path(cp.config.paths.pkiDir)}"`);
      return;
    }
    cp.out.line('download-certs', `Downloading the certificates in Secret "${KUBEADM_CERTS_SECRET}" in the "kube-system" Namespace`);
    const written = await downloadCerts(cp.host, cp.sharedCertsPlace(), await cp.join.bootstrapClient(), key);
    cp.out.line('download-certs', `Saved ${written.length} certificates and keys to "${cp.host.path(cp.config.paths.pkiDir)}"`);
  },
};
