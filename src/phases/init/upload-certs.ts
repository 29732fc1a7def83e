/**
 * kubeadm's upload-certs (only with --upload-certs): the shared control-plane CAs and keys,
 * encrypted with the certificate key, in kube-system/kubeadm-certs. A 2h bootstrap token owns the
 * Secret, so the garbage collector deletes it when the token expires.
 */
import type { V1Secret } from '@kubernetes/client-node';
import { HostError } from '../../errors.js';
import { bootstrapTokenSecret, DEFAULT_NODE_TOKEN_GROUP, generateToken } from '../../kube/bootstrap-token.js';
import { applySecret } from '../../kube/configmap.js';
import { encryptWithCertificateKey, KUBEADM_CERTS_SECRET } from '../../kube/copycerts.js';
import { applyRoleAndBinding, group, namedRule, role } from '../../kube/rbac.js';
import { withRetry } from '../../kube/retry.js';
import { certsToTransfer, sharedCertsPlace } from '../copycerts.js';
import type { AdminClientData, CertificateKeyData } from '../data.js';
import type { Phase } from '../runner.js';

type UploadCertsData = AdminClientData & CertificateKeyData;

async function upload(ctx: UploadCertsData): Promise<void> {
  const key = ctx.certificateKey();
  const data: Record<string, string> = {};
  for (const [name, file] of certsToTransfer(sharedCertsPlace(ctx.config))) {
    const content = await ctx.host.readOptional(file);
    if (content === undefined) {
      // kubeadm skips missing files (e.g. an external CA without its key).
      if (name.endsWith('.crt') || name === 'sa.pub') {
        throw new HostError(`cannot upload ${ctx.host.path(file)}: the file does not exist`, { hint: 'run the certs phase first' });
      }
      continue;
    }
    data[name] = encryptWithCertificateKey(content, key).toString('base64');
  }
  const c = await ctx.adminClient();
  const timeoutMs = ctx.config.timeoutsMs.kubernetesAPICall;
  const ttlToken = bootstrapTokenSecret({
    token: generateToken(),
    description: 'Proxy for managing TTL for the kubeadm-certs secret',
    ttl: '2h0m0s',
    usages: [],
    groups: [],
  });
  const owner = await withRetry(() => c.core.createNamespacedSecret({ namespace: 'kube-system', body: ttlToken }), {
    timeoutMs,
    what: 'creating the kubeadm-certs TTL token',
  });
  const secret: V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: KUBEADM_CERTS_SECRET,
      namespace: 'kube-system',
      ownerReferences: [{ apiVersion: 'v1', kind: 'Secret', name: owner.metadata!.name!, uid: owner.metadata!.uid!, controller: true }],
    },
    type: 'Opaque',
    data,
  };
  await withRetry(
    async () => {
      await applySecret(c, secret);
      await applyRoleAndBinding(c, role('kubeadm:kubeadm-certs', 'kube-system', [namedRule('secrets', [KUBEADM_CERTS_SECRET])]), [
        group(DEFAULT_NODE_TOKEN_GROUP),
      ]);
    },
    { timeoutMs, what: `uploading Secret ${KUBEADM_CERTS_SECRET}` },
  );
}

export const uploadCertsPhase: Phase<UploadCertsData> = {
  name: 'upload-certs',
  help: 'Upload certificates to kubeadm-certs',
  run: async (ctx) => {
    if (!ctx.uploadCerts) {
      ctx.out.line('upload-certs', 'Skipping phase. Please see --upload-certs');
      return;
    }
    ctx.out.line('upload-certs', `Storing the certificates in Secret "${KUBEADM_CERTS_SECRET}" in the "kube-system" Namespace`);
    const key = ctx.certificateKey();
    if (!ctx.dryRun) await upload(ctx);
    ctx.out.line('upload-certs', 'Using certificate key:');
    ctx.out.text(key);
  },
};
