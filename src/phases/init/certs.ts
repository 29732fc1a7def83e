/**
 * `init phase certs`: one subphase per row of the certificate table (plus sa). Every subphase's
 * `prepare` validates what is on disk and starts its key generation, so all keys are generated in
 * parallel before the first `run`; the runs then sign and write in kubeadm's order and print its lines.
 */
import type { Phase } from '../runner.js';
import type { InitContext } from './context.js';
import { prepareCA, prepareLeaf, prepareSA, runCA, runLeaf, runSA } from '../../pki/ensure.js';
import { pkiSession } from '../../pki/session.js';
import { CERT_SPECS, SA_KEY, isCASpec, type CertSpec } from '../../pki/specs.js';

function usesExternalEtcd(ctx: InitContext): boolean {
  return ctx.config.cluster.etcd.external !== undefined;
}

function certPhase(spec: CertSpec): Phase<InitContext> {
  const skipped = (ctx: InitContext): boolean => spec.etcd && usesExternalEtcd(ctx);
  return {
    name: spec.name,
    help: `Generate the ${spec.longName}`,
    prepare: async (ctx) => {
      if (skipped(ctx)) return;
      const session = pkiSession(ctx);
      if (isCASpec(spec)) await prepareCA(session, spec, ctx.out);
      else await prepareLeaf(session, spec, ctx.out);
    },
    run: async (ctx) => {
      if (skipped(ctx)) {
        const what = isCASpec(spec) ? 'certificate authority' : 'certificate';
        ctx.out.line('certs', `External etcd mode: Skipping ${spec.baseName} ${what} generation`);
        return;
      }
      const session = pkiSession(ctx);
      if (isCASpec(spec)) await runCA(session, spec, ctx.out);
      else await runLeaf(session, spec, ctx.out);
    },
  };
}

export const certsPhase: Phase<InitContext> = {
  name: 'certs',
  help: 'Certificate generation',
  run: (ctx) => {
    ctx.out.line('certs', `Using certificateDir folder "${ctx.host.path(ctx.config.paths.pkiDir)}"`);
  },
  phases: [
    ...CERT_SPECS.map(certPhase),
    {
      name: SA_KEY.name,
      help: `Generate a ${SA_KEY.longName}`,
      prepare: async (ctx) => prepareSA(pkiSession(ctx)),
      run: async (ctx) => runSA(pkiSession(ctx), ctx.out),
    },
  ],
};
