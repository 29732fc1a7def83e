/**
 * `init phase kubeconfig`: one subphase per kubeconfig file. Client keys are started in `prepare`
 * together with the certs phase's keys; the CA comes from the same PKI session, so a dry run (which
 * writes nothing) can still sign with the CA it generated in memory.
 */
import type { PkiData } from '../data.js';
import type { Phase } from '../runner.js';
import { prepareKubeconfig, runKubeconfig } from '../../kubeconfig/ensure.js';
import { KUBECONFIG_SPECS, type KubeconfigSpec } from '../../kubeconfig/specs.js';

function kubeconfigFilePhase(spec: KubeconfigSpec): Phase<PkiData> {
  return {
    name: spec.name,
    help: spec.help,
    prepare: async (ctx) => prepareKubeconfig(ctx.pki(), spec, ctx.out),
    run: async (ctx) => runKubeconfig(ctx.pki(), spec, ctx.out),
  };
}

/** Shared with join --control-plane and certs renew through PkiData. */
export const kubeconfigPhase: Phase<PkiData> = {
  name: 'kubeconfig',
  help: 'Generate all kubeconfig files necessary to establish the control plane and the admin kubeconfig file',
  run: (ctx) => {
    ctx.out.line('kubeconfig', `Using kubeconfig folder "${ctx.host.path(ctx.config.paths.kubernetesDir)}"`);
  },
  phases: KUBECONFIG_SPECS.map(kubeconfigFilePhase),
};
