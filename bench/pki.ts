/**
 * PKI benchmark: our full `init phase certs` + `init phase kubeconfig` (3 CAs, 7 leaves, sa, 5
 * kubeconfigs = 16 keys, 15 certificates, every file written) for RSA-2048 and ECDSA-P256, against
 * the reference in the same run: the openssl CLI making the same 16 RSA-2048 keys and 15 certificates
 * one after another (genpkey, then req -x509 self-signed or signed by the CA), as a shell script would.
 *
 * Last lines: `pki-ratio-rsa2048: <ours-rsa / openssl-rsa>` and `pki-ratio-ecdsa-p256: <ours-ecdsa /
 * openssl-rsa>` (lower is better; targets ≤ 0.7 and ≤ 0.1). BENCH_QUICK=1: one run each (a smoke run
 * for `npm test`).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { deriveConfig, resolveDocumentsSync } from '../src/config/resolve.js';
import type { EncryptionAlgorithm, ResolvedConfig } from '../src/config/types.js';
import { Host } from '../src/host/host.js';
import type { InitContext } from '../src/phases/context.js';
import { certsPhase } from '../src/phases/certs.js';
import { kubeconfigPhase } from '../src/phases/kubeconfig.js';
import { memoryPrinter } from '../src/phases/output.js';
import { Runner } from '../src/phases/workflow.js';
import { CERT_SPECS } from '../src/pki/specs.js';
import { KUBECONFIG_SPECS } from '../src/kubeconfig/specs.js';

/** BENCH_QUICK=1: one run each; proves the bench runs (npm test), measures nothing. */
const QUICK = process.env.BENCH_QUICK === '1';
const OURS_RUNS = Number(process.env.BENCH_PKI_RUNS ?? (QUICK ? 1 : 5));
const OPENSSL_RUNS = Number(process.env.BENCH_PKI_OPENSSL_RUNS ?? (QUICK ? 1 : 3));

function config(alg: EncryptionAlgorithm): ResolvedConfig {
  const { init, cluster, file } = resolveDocumentsSync({
    nodeName: 'bench-node',
    apiserverAdvertiseAddress: '10.0.0.10',
    token: 'abcdef.0123456789abcdef',
  });
  return deriveConfig(init, { ...cluster, encryptionAlgorithm: alg }, file);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function scratch(): string {
  return mkdtempSync(path.join(tmpdir(), 'kubestrap-bench-pki-'));
}

async function ours(alg: EncryptionAlgorithm): Promise<number> {
  const rootfs = scratch();
  try {
    const cfg = config(alg);
    const ctx: InitContext = { config: cfg, host: new Host(rootfs), out: memoryPrinter(), dryRun: false, uploadCerts: false, prepared: new Map() };
    const t0 = performance.now();
    await new Runner([certsPhase, kubeconfigPhase]).run(ctx);
    return performance.now() - t0;
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
}

/** The same certificates with the openssl CLI, sequentially: one genpkey and one req per certificate. */
function openssl(): number {
  const dir = scratch();
  const run = (...args: string[]): void => {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const genkey = (name: string): string => {
    const key = path.join(dir, `${name}.key`);
    run('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', key);
    return key;
  };
  try {
    const t0 = performance.now();
    const cas = new Map<string, { crt: string; key: string }>();
    for (const spec of CERT_SPECS.filter((s) => s.ca === undefined)) {
      const name = spec.name;
      const key = genkey(name);
      const crt = path.join(dir, `${name}.crt`);
      run('req', '-new', '-x509', '-key', key, '-out', crt, '-days', '3650', '-subj', `/CN=${name}`,
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign',
        '-addext', `subjectAltName=DNS:${name}`);
      cas.set(name, { crt, key });
    }
    const leaves: { name: string; ca: string; eku: string; san?: string }[] = [
      ...CERT_SPECS.filter((s) => s.ca !== undefined).map((s) => ({
        name: s.name,
        ca: s.ca!,
        eku: s.usages.join(','),
        san: s.altNames ? 'DNS:bench-node,DNS:localhost,IP:10.0.0.10,IP:127.0.0.1' : undefined,
      })),
      ...KUBECONFIG_SPECS.map((k) => ({ name: k.name, ca: 'ca', eku: 'clientAuth' })),
    ];
    for (const leaf of leaves) {
      const key = genkey(leaf.name);
      const ca = cas.get(leaf.ca)!;
      const ext = ['-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'keyUsage=critical,digitalSignature,keyEncipherment', '-addext', `extendedKeyUsage=${leaf.eku}`];
      if (leaf.san) ext.push('-addext', `subjectAltName=${leaf.san}`);
      run('req', '-new', '-key', key, '-CA', ca.crt, '-CAkey', ca.key, '-out', path.join(dir, `${leaf.name}.crt`), '-days', '365', '-subj', `/CN=${leaf.name}`, ...ext);
    }
    const sa = genkey('sa');
    run('pkey', '-in', sa, '-pubout', '-out', path.join(dir, 'sa.pub'));
    return performance.now() - t0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(label: string, times: number[]): number {
  const m = median(times);
  console.log(`${label.padEnd(34)} median ${m.toFixed(0).padStart(6)} ms  runs [${times.map((t) => t.toFixed(0)).join(', ')}]`);
  return m;
}

const keys = CERT_SPECS.length + 1 + KUBECONFIG_SPECS.length;
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
console.log(`PKI benchmark: ${keys} keys, ${CERT_SPECS.length + KUBECONFIG_SPECS.length} certificates per run; ${cpus().length} CPUs, load average ${load()}`);
await ours('ECDSA-P256'); // warm-up: module loading and JIT are not what we measure
// Rounds interleave the three series so that a change in machine load hits all of them alike.
const rsa: number[] = [];
const ec: number[] = [];
const ref: number[] = [];
for (let i = 0; i < Math.max(OURS_RUNS, OPENSSL_RUNS); i++) {
  if (i < OURS_RUNS) rsa.push(await ours('RSA-2048'));
  if (i < OPENSSL_RUNS) ref.push(openssl());
  if (i < OURS_RUNS) ec.push(await ours('ECDSA-P256'));
}
const oursRsa = report('kubestrap RSA-2048 (parallel keys)', rsa);
const oursEc = report('kubestrap ECDSA-P256', ec);
const refMedian = report('openssl CLI RSA-2048 (sequential)', ref);
console.log(`load average after: ${load()}`);
console.log(`pki-ratio-rsa2048: ${(oursRsa / refMedian).toFixed(3)}`);
console.log(`pki-ratio-ecdsa-p256: ${(oursEc / refMedian).toFixed(3)}`);
