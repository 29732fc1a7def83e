/**
 * `join --node-local-lb` on a kubelet node: the node-local API balancer (`kubestrap lb`) as a host
 * service beside the kubelet, started by the same machinery (systemd unit, else a supervised
 * daemon). It listens on 127.0.0.1:7443, starts with the endpoint the node joined through as seed,
 * checks each API server's /readyz with the cluster CA, and once the kubelet's TLS bootstrap has
 * written kubelet.conf follows the `kubernetes` EndpointSlice with it. On an agent node the agent
 * runs the balancer itself (no second service).
 */
import { kubestrapCommand } from '../agent/index.js';
import { API_SERVERS_FILE, KUBELET_KUBECONFIG } from '../constants.js';
import type { Host } from '../host/host.js';
import type { NodeService } from './node-service.js';

export const API_LB_SERVICE = {
  unitName: 'kubestrap-lb.service',
  unit: '/etc/systemd/system/kubestrap-lb.service',
  pid: '/run/kubestrap-lb.pid',
  childPid: '/run/kubestrap-lb-child.pid',
  log: '/var/log/kubestrap-lb.log',
} as const;

/** `kubestrap lb`'s arguments (host paths: it maps them under --rootfs itself). */
export function apiLbArgs(seeds: readonly string[], caCertPath: string, host: Host): string[] {
  return [
    ...seeds.map((s) => `--seed=${s}`),
    `--kubeconfig=${KUBELET_KUBECONFIG}`,
    '--wait-for-kubeconfig',
    `--ca-file=${caCertPath}`,
    '--health-check=readyz',
    `--state-file=${API_SERVERS_FILE}`,
    ...(host.rootfs !== '/' ? [`--rootfs=${host.rootfs}`] : []),
  ];
}

function unit(args: readonly string[]): string {
  const self = kubestrapCommand(['lb', ...args]);
  return [
    '[Unit]',
    'Description=kubestrap node-local API load balancer (127.0.0.1:7443)',
    'Wants=network-online.target',
    'After=network-online.target',
    'Before=kubelet.service',
    '',
    '[Service]',
    `ExecStart=${[self.command, ...self.args].join(' ')}`,
    'Restart=always',
    'RestartSec=2',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

export function apiLbService(seeds: readonly string[], caCertPath: string, host: Host): NodeService {
  const args = apiLbArgs(seeds, caCertPath, host);
  return {
    label: 'node-local API balancer',
    unitName: API_LB_SERVICE.unitName,
    unitFiles: { [API_LB_SERVICE.unit]: unit(args) },
    ...kubestrapCommand(['lb', ...args]),
    pidFile: API_LB_SERVICE.pid,
    childPidFile: API_LB_SERVICE.childPid,
    logFile: API_LB_SERVICE.log,
  };
}
