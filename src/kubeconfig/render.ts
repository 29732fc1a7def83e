/**
 * Renders a kubeconfig the way client-go's clientcmd writes kubeadm's files (same keys, same order,
 * everything embedded as base64 `*-data`; no `preferences`, deprecated and `omitzero` since client-go
 * v0.34, so kubeadm 1.35+ writes none). Built as an object and serialized by `yaml` rather than a
 * template: names such as `system:node:cp1` and long base64 values need YAML quoting/folding rules a
 * text template would have to reimplement, and `yaml` gets them right by construction.
 */
import { stringify } from 'yaml';

export interface KubeconfigContent {
  clusterName: string;
  server: string;
  /** Absent in the key-only kubeconfigs of `certs generate-csr`. */
  caPem?: string;
  userName: string;
  /** The credential: a client certificate and key, or a token (`kubeconfig user --token`). */
  clientCertPem?: string;
  clientKeyPem?: string;
  token?: string;
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

export function contextName(userName: string, clusterName: string): string {
  return `${userName}@${clusterName}`;
}

function credentials(c: KubeconfigContent): Record<string, string> {
  const out: Record<string, string> = {};
  if (c.clientCertPem !== undefined) out['client-certificate-data'] = b64(c.clientCertPem);
  if (c.clientKeyPem !== undefined) out['client-key-data'] = b64(c.clientKeyPem);
  return out;
}

export function renderKubeconfig(c: KubeconfigContent): string {
  const context = contextName(c.userName, c.clusterName);
  const doc = {
    apiVersion: 'v1',
    clusters: [{ cluster: { ...(c.caPem !== undefined ? { 'certificate-authority-data': b64(c.caPem) } : {}), server: c.server }, name: c.clusterName }],
    contexts: [{ context: { cluster: c.clusterName, user: c.userName }, name: context }],
    'current-context': context,
    kind: 'Config',
    users: [{ name: c.userName, user: c.token !== undefined ? { token: c.token } : credentials(c) }],
  };
  // lineWidth 0: never fold the long base64 values.
  return stringify(doc, { lineWidth: 0, minContentWidth: 0, indentSeq: false });
}
