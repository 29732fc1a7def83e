/** The tests' workload objects: a Deployment whose pods carry `app: <name>` (selector and label). */
import type { V1Deployment, V1PodSpec } from '@kubernetes/client-node';

export function deployment(name: string, replicas: number, podSpec: V1PodSpec, namespace = 'default'): V1Deployment {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: podSpec } },
  };
}
