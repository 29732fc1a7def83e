/**
 * kubelet.conf as the kubelet writes it after a TLS bootstrap (bootstrap.go
 * writeKubeconfigFromBootstrapping): cluster `default-cluster` with the bootstrap kubeconfig's
 * server and CA (always embedded: the kubelet keeps a CA file reference as a reference), user
 * `default-auth` with client-certificate and client-key both the store's `current` pair, context
 * `default-context` in namespace default. Mode 0600, like clientcmd.WriteToFile.
 */
import { stringify } from 'yaml';
import type { Host } from '../../host/host.js';

export interface NodeKubeconfigInput {
  server: string;
  caPem?: string;
  /** Host path of `kubelet-client-current.pem`. */
  pairFile: string;
}

export function nodeKubeconfig(input: NodeKubeconfigInput): string {
  const cluster: Record<string, unknown> = { server: input.server };
  if (input.caPem) cluster['certificate-authority-data'] = Buffer.from(input.caPem).toString('base64');
  return stringify({
    apiVersion: 'v1',
    clusters: [{ cluster, name: 'default-cluster' }],
    contexts: [{ context: { cluster: 'default-cluster', namespace: 'default', user: 'default-auth' }, name: 'default-context' }],
    'current-context': 'default-context',
    kind: 'Config',
    preferences: {},
    users: [{ name: 'default-auth', user: { 'client-certificate': input.pairFile, 'client-key': input.pairFile } }],
  });
}

export async function writeNodeKubeconfig(host: Host, file: string, input: NodeKubeconfigInput): Promise<void> {
  await host.writeFile(file, nodeKubeconfig(input), 0o600);
}
