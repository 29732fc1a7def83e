/**
 * `init phase certs`: one subphase per row of the certificate table (plus sa). Every subphase's
 * `prepare` validates what is on disk and starts its key generation, so all keys are generated in
 * parallel before the first `run`; the runs then sign and write in kubeadm's order and print its lines.
 */
import type { PkiData } from '../data.js';
import type { Phase } from '../runner.js';
import { prepareCA, prepareLeaf, prepareSA, runCA, runLeaf, runSA } from '../../pki/ensure.js';
import { CERT_SPECS, SA_KEY, isCASpec, type CertSpec } from '../../pki/specs.js';

function usesExternalEtcd(ctx: PkiData): boolean {
  return ctx.config.cluster.etcd.external !== undefined;
}

function certPhase(spec: CertSpec): Phase<PkiData> {
  return {
    name: spec.name,
    help: `Generate the ${spec.longName}`,
    when: (ctx) => !(spec.etcd && usesExternalEtcd(ctx)),
    skipped: (ctx) => {
      const what = isCASpec(spec) ? 'certificate authority' : 'certificate';
      ctx.out.line('certs', `External etcd mode: Skipping ${spec.baseName} ${what} generation`);
    },
    prepare: async (ctx) => {
      if (isCASpec(spec)) await prepareCA(ctx.pki(), spec, ctx.out);
      else await prepareLeaf(ctx.pki(), spec, ctx.out);
    },
    run: async (ctx) => {
      if (isCASpec(spec)) await runCA(ctx.pki(), spec, ctx.out);
      else await runLeaf(ctx.pki(), spec, ctx.out);
    },
  };
}

/** Shared with join --control-plane and certs renew through PkiData. */
export const certsPhase: Phase<PkiData> = {
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
      prepare: async (ctx) => prepareSA(ctx.pki()),
      run: async (ctx) => runSA(ctx.pki(), ctx.out),
    },
  ],
};
