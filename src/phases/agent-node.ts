/**
 * `join --agent`: the kubestrap agent in the kubelet's place, started by the same service
 * machinery, with kubelet-like flags. The seam with the agent's own TLS bootstrap (issue 12's
 * agent-join work): the agent takes --bootstrap-kubeconfig and --cert-dir, makes the CSR
 * (signer kubernetes.io/kube-apiserver-client-kubelet) itself and writes kubelet.conf, which
 * kubelet-wait-bootstrap waits for as it does for the kubelet. Paths are host paths: the agent
 * maps them under --rootfs itself.
 */
import { AGENT_NODE_FLAGS, AGENT_PATHS, AGENT_UNIT_NAME, kubestrapCommand, renderFlagsEnv, renderSystemdUnit } from '../agent/index.js';
import type { ResolvedJoin } from '../config/join.js';
import { KUBELET_KUBECONFIG, KUBELET_PATHS, MANIFESTS_DIR } from '../constants.js';
import type { Host } from '../host/host.js';
import { AGENT_CHILD_PID, type NodeService } from './node-service.js';

/** The agent's arguments for a joined node. */
export function agentJoinArgs(cfg: ResolvedJoin, host: Host, apiLbSeeds: readonly string[] = []): string[] {
  return [
    `--bootstrap-kubeconfig=${KUBELET_PATHS.bootstrapKubeconfig}`,
    `--kubeconfig=${KUBELET_KUBECONFIG}`,
    `--cert-dir=${KUBELET_PATHS.pkiDir}`,
    `--node-name=${cfg.nodeName}`,
    `--pod-manifest-path=${MANIFESTS_DIR}`,
    `--client-ca-file=${cfg.join.caCertPath}`,
    ...cfg.join.nodeRegistration.kubeletExtraArgs.filter((a) => a.name === 'node-ip').map((a) => `--node-ip=${a.value}`),
    ...apiLbSeeds.map((s) => `--api-lb-seed=${s}`),
    ...(host.rootfs !== '/' ? [`--rootfs=${host.rootfs}`] : []),
  ];
}

export function agentJoinService(cfg: ResolvedJoin, host: Host, apiLbSeeds: readonly string[] = []): NodeService {
  const args = agentJoinArgs(cfg, host, apiLbSeeds);
  return {
    label: 'kubestrap agent',
    unitName: AGENT_UNIT_NAME,
    unitFiles: { [AGENT_PATHS.unit]: renderSystemdUnit(args) },
    files: { [AGENT_PATHS.flags]: renderFlagsEnv(args) },
    ...kubestrapCommand(['agent', ...args], AGENT_NODE_FLAGS),
    pidFile: AGENT_PATHS.pid,
    childPidFile: AGENT_CHILD_PID,
    logFile: AGENT_PATHS.log,
  };
}
