/**
 * kubeadm's CoreDNS addon (cmd/kubeadm/app/phases/addons/dns/manifests.go, the same in v1.35–v1.37):
 * the `coredns` ConfigMap (Corefile), ClusterRole and ClusterRoleBinding `system:coredns`, the
 * `coredns` ServiceAccount, the Deployment and the `kube-dns` Service on the tenth IP of the service
 * range, in the order kubeadm creates them. kubeadm has no PodDisruptionBudget for it.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import type { ResolvedConfig } from '../../config/types.js';
import { LABEL_NODE_ROLE_CONTROL_PLANE } from '../../constants.js';
import type { KubeObject } from '../apply.js';
import { configMap } from '../configmap.js';
import { clusterRole, clusterRoleBinding } from '../rbac.js';
import { placementAffinity, type AddonPlacement } from './common.js';

export const COREDNS_NAME = 'coredns';
/** The label kubeadm (and kube-dns before it) selects the DNS pods by. */
export const DNS_SELECTOR = { 'k8s-app': 'kube-dns' } as const;
export const DNS_SERVICE_NAME = 'kube-dns';
/** kubeadm's coreDNSReplicas; a re-run keeps the replicas of the Deployment already there. */
export const COREDNS_REPLICAS = 2;
const NS = 'kube-system';

export interface CorednsOptions extends AddonPlacement {
  replicas: number;
}

/** kubeadm's Corefile for the cluster's DNS domain. */
export function corefile(dnsDomain: string): string {
  return `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes ${dnsDomain} in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success ${dnsDomain}
       disable denial ${dnsDomain}
    }
    loop
    reload
    loadbalance
}
`;
}

function deployment(config: ResolvedConfig, options: CorednsOptions): V1Deployment & { kind: 'Deployment' } {
  const affinity = placementAffinity(options, {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        {
          weight: 100,
          podAffinityTerm: {
            labelSelector: { matchExpressions: [{ key: 'k8s-app', operator: 'In', values: [DNS_SELECTOR['k8s-app']] }] },
            topologyKey: 'kubernetes.io/hostname',
          },
        },
      ],
    },
  });
  const port = (containerPort: number, name: string, protocol = 'TCP'): { containerPort: number; name: string; protocol: string } => ({
    containerPort,
    name,
    protocol,
  });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: COREDNS_NAME, namespace: NS, labels: { ...DNS_SELECTOR } },
    spec: {
      replicas: options.replicas,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      selector: { matchLabels: { ...DNS_SELECTOR } },
      template: {
        metadata: { labels: { ...DNS_SELECTOR } },
        spec: {
          priorityClassName: 'system-cluster-critical',
          serviceAccountName: COREDNS_NAME,
          affinity,
          tolerations: [
            { key: 'CriticalAddonsOnly', operator: 'Exists' },
            { key: LABEL_NODE_ROLE_CONTROL_PLANE, effect: 'NoSchedule' },
          ],
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          containers: [
            {
              name: COREDNS_NAME,
              image: config.images.coredns,
              imagePullPolicy: 'IfNotPresent',
              resources: { limits: { memory: '170Mi' }, requests: { cpu: '100m', memory: '70Mi' } },
              args: ['-conf', '/etc/coredns/Corefile'],
              volumeMounts: [{ name: 'config-volume', mountPath: '/etc/coredns', readOnly: true }],
              ports: [port(53, 'dns', 'UDP'), port(53, 'dns-tcp'), port(9153, 'metrics'), port(8080, 'liveness-probe'), port(8181, 'readiness-probe')],
              livenessProbe: {
                httpGet: { path: '/health', port: 'liveness-probe', scheme: 'HTTP' },
                initialDelaySeconds: 60,
                timeoutSeconds: 5,
                successThreshold: 1,
                failureThreshold: 5,
              },
              readinessProbe: { httpGet: { path: '/ready', port: 'readiness-probe', scheme: 'HTTP' } },
              securityContext: {
                allowPrivilegeEscalation: false,
                capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] },
                readOnlyRootFilesystem: true,
              },
            },
          ],
          dnsPolicy: 'Default',
          volumes: [{ name: 'config-volume', configMap: { name: COREDNS_NAME, items: [{ key: 'Corefile', path: 'Corefile' }] } }],
        },
      },
    },
  };
}

/** The CoreDNS objects, in kubeadm's create order. */
export function corednsObjects(config: ResolvedConfig, options: CorednsOptions): KubeObject[] {
  return [
    { ...configMap(COREDNS_NAME, NS, { Corefile: corefile(config.cluster.networking.dnsDomain) }), kind: 'ConfigMap' },
    {
      ...clusterRole('system:coredns', [
        { apiGroups: [''], resources: ['endpoints', 'services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
      ]),
      kind: 'ClusterRole',
    },
    {
      ...clusterRoleBinding('system:coredns', 'system:coredns', [{ kind: 'ServiceAccount', name: COREDNS_NAME, namespace: NS }]),
      kind: 'ClusterRoleBinding',
    },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: COREDNS_NAME, namespace: NS } },
    deployment(config, options),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: DNS_SERVICE_NAME,
        namespace: NS,
        labels: { ...DNS_SELECTOR, 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' },
        annotations: { 'prometheus.io/port': '9153', 'prometheus.io/scrape': 'true' },
        // kubeadm's: an update of the Service then needs no resourceVersion of the live object
        resourceVersion: '0',
      },
      spec: {
        clusterIP: config.dnsServiceIP,
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
          { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
        ],
        selector: { ...DNS_SELECTOR },
      },
    },
  ];
}
