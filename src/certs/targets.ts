/**
 * What `certs renew` can renew, as kubeadm's renewal manager lists it (sorted by name): every leaf
 * of CERT_SPECS (never a CA; the etcd ones only with local etcd) and the client certificate of every
 * renewable kubeconfig (never kubelet.conf: the kubelet's own credentials are the kubelet's). Built
 * from the two spec tables, not copied from them.
 */
import path from 'node:path';
import { KUBECONFIG_SPECS, type KubeconfigSpec } from '../kubeconfig/specs.js';
import { certFile, keyFile } from '../pki/files.js';
import { CERT_SPECS, caSpec, isCASpec, type CAName, type CertSpec } from '../pki/specs.js';

export interface RenewTarget {
  /** kubeadm's name: `apiserver`, `etcd-server`, `admin.conf`. */
  name: string;
  /** kubeadm's LongName, used in "<longName> renewed". */
  longName: string;
  /** The CA that signs it. */
  ca: CAName;
  /** Where it lives. */
  kind: 'pki' | 'kubeconfig';
  /** The PKI spec (kind pki) or the kubeconfig spec (kind kubeconfig). */
  cert?: CertSpec;
  kubeconfig?: KubeconfigSpec;
}

export interface TargetDirs {
  pkiDir: string;
  kubernetesDir: string;
}

/** kubeadm's long names of the kubeconfig certificates (renewal/manager.go). */
const KUBECONFIG_LONG_NAMES: Readonly<Record<string, string>> = {
  'admin.conf': 'certificate embedded in the kubeconfig file for the admin to use and for kubeadm itself',
  'super-admin.conf': 'certificate embedded in the kubeconfig file for the super-admin',
  'controller-manager.conf': 'certificate embedded in the kubeconfig file for the controller manager to use',
  'scheduler.conf': 'certificate embedded in the kubeconfig file for the scheduler manager to use',
};

export function renewTargets(externalEtcd: boolean): RenewTarget[] {
  const out: RenewTarget[] = [];
  for (const spec of CERT_SPECS) {
    if (isCASpec(spec) || (externalEtcd && spec.etcd)) continue;
    out.push({ name: spec.name, longName: spec.longName, ca: spec.ca!, kind: 'pki', cert: spec });
  }
  for (const spec of KUBECONFIG_SPECS) {
    if (!spec.renewable) continue;
    out.push({
      name: spec.file,
      longName: KUBECONFIG_LONG_NAMES[spec.file] ?? `certificate embedded in ${spec.file}`,
      ca: 'ca',
      kind: 'kubeconfig',
      kubeconfig: spec,
    });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The host paths a renewal of `target` rewrites (what the pods using them must reload). */
export function targetFiles(target: RenewTarget, dirs: TargetDirs): string[] {
  if (target.kind === 'kubeconfig') return [path.posix.join(dirs.kubernetesDir, target.kubeconfig!.file)];
  return [certFile(dirs.pkiDir, target.cert!.baseName), keyFile(dirs.pkiDir, target.cert!.baseName)];
}

/** The files of the CA that signs `target`. */
export function caFiles(target: RenewTarget, pkiDir: string): { crt: string; key: string; baseName: string } {
  const ca = caSpec(target.ca);
  return { crt: certFile(pkiDir, ca.baseName), key: keyFile(pkiDir, ca.baseName), baseName: ca.baseName };
}
