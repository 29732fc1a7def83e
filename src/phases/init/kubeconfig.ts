/**
 * `init phase kubeconfig`: one subphase per kubeconfig file. Client keys are started in `prepare`
 * together with the certs phase's keys; the CA comes from the same PKI session, so a dry run (which
 * writes nothing) can still sign with the CA it generated in memory.
 */
import type { Phase } from '../runner.js';
import type { InitContext } from './context.js';
import { prepareKubeconfig, runKubeconfig } from '../../kubeconfig/ensure.js';
import { KUBECONFIG_SPECS, type KubeconfigSpec } from '../../kubeconfig/specs.js';
import { pkiSession } from '../../pki/session.js';

function kubeconfigFilePhase(spec: KubeconfigSpec): Phase<InitContext> {
  return {
    name: spec.name,
    help: spec.help,
    prepare: async (ctx) => prepareKubeconfig(pkiSession(ctx), spec, ctx.out),
    run: async (ctx) => runKubeconfig(pkiSession(ctx), spec, ctx.out),
  };
}

export const kubeconfigPhase: Phase<InitContext> = {
  name: 'kubeconfig',
  help: 'Generate all kubeconfig files necessary to establish the control plane and the admin kubeconfig file',
  run: (ctx) => {
    ctx.out.line('kubeconfig', `Using kubeconfig folder "${ctx.host.path(ctx.config.paths.kubernetesDir)}"`);
  },
  phases: KUBECONFIG_SPECS.map(kubeconfigFilePhase),
};
