/**
 * kubeadm's closing message: how to use admin.conf and how to join more nodes, with the token and
 * the `sha256:` pin of the cluster CA (`--discovery-token-ca-cert-hash`).
 */
import path from 'node:path';
import { HostError } from '../../errors.js';
import { caCertHash } from '../../kube/discovery.js';
import { KUBECONFIG_FILES } from '../../constants.js';
import type { CertificateKeyData } from '../data.js';
import type { Phase } from '../runner.js';

export interface JoinCommandInput {
  /** host:port of the control-plane endpoint. */
  endpoint: string;
  token: string;
  caHash: string;
  controlPlane?: boolean;
  certificateKey?: string;
}

export function joinCommand(i: JoinCommandInput): string {
  const parts = [`kubestrap join ${i.endpoint} --token ${i.token}`, `--discovery-token-ca-cert-hash ${i.caHash}`];
  if (i.controlPlane) parts.push(i.certificateKey ? `--control-plane --certificate-key ${i.certificateKey}` : '--control-plane');
  return parts.join(' \\\n\t');
}

export interface ClosingInput extends Omit<JoinCommandInput, 'controlPlane'> {
  adminConf: string;
  /** kubeadm shows the control-plane join only when a controlPlaneEndpoint is configured. */
  showControlPlaneJoin: boolean;
}

export function closingMessage(i: ClosingInput): string {
  const out = [
    'Your Kubernetes control-plane has initialized successfully!',
    '',
    'To start using your cluster, you need to run the following as a regular user:',
    '',
    '  mkdir -p $HOME/.kube',
    `  sudo cp -i ${i.adminConf} $HOME/.kube/config`,
    '  sudo chown $(id -u):$(id -g) $HOME/.kube/config',
    '',
    'Alternatively, if you are the root user, you can run:',
    '',
    `  export KUBECONFIG=${i.adminConf}`,
    '',
    'You should now deploy a pod network to the cluster.',
    'Run "kubectl apply -f [podnetwork].yaml" with one of the options listed at:',
    '  https://kubernetes.io/docs/concepts/cluster-administration/addons/',
    '',
  ];
  if (i.showControlPlaneJoin || i.certificateKey) {
    if (i.certificateKey) {
      out.push('You can now join any number of control-plane nodes running the following command on each as root:', '');
    } else {
      out.push(
        'You can now join any number of control-plane nodes by copying certificate authorities',
        'and service account keys on each node and then running the following as root:',
        '',
      );
    }
    out.push(`  ${joinCommand({ ...i, controlPlane: true }).replace(/\n/g, '\n  ')}`, '');
    if (i.certificateKey) {
      out.push(
        'Please note that the certificate-key gives access to cluster sensitive data, keep it secret!',
        'As a safeguard, uploaded-certs will be deleted in two hours; If necessary, you can use',
        '"kubestrap init phase upload-certs --upload-certs" to reload certs afterward.',
        '',
      );
    }
  }
  out.push('Then you can join any number of worker nodes by running the following on each as root:', '', joinCommand(i));
  return out.join('\n');
}

export const showJoinCommandPhase: Phase<CertificateKeyData> = {
  name: 'show-join-command',
  help: 'Show the join command for control-plane and worker node',
  run: async (ctx) => {
    const token = ctx.config.init.bootstrapTokens[0]?.token;
    if (!token) {
      ctx.out.warn('show-join-command', 'no bootstrap token is configured; create one to join nodes');
      return;
    }
    const caFile = path.posix.join(ctx.config.paths.pkiDir, 'ca.crt');
    // in a dry run this reads the CA the certs phase planned to write (Host sees planned writes)
    const ca = await ctx.host.readOptional(caFile);
    if (!ca) {
      if (ctx.dryRun) return;
      throw new HostError(`cannot compute the CA hash: ${ctx.host.path(caFile)} does not exist`, { hint: 'run the certs phase first' });
    }
    const endpoint = ctx.config.clusterAPIServerURL.replace(/^https:\/\//, '');
    ctx.out.text(
      closingMessage({
        adminConf: ctx.host.path(path.posix.join(ctx.config.paths.kubernetesDir, KUBECONFIG_FILES.admin)),
        endpoint,
        token,
        caHash: caCertHash(ca),
        certificateKey: ctx.uploadCerts ? ctx.chosenCertificateKey() : undefined,
        showControlPlaneJoin: Boolean(ctx.config.cluster.controlPlaneEndpoint),
      }),
    );
  },
};
