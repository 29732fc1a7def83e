/**
 * `kubestrap upgrade plan`, the pure part: from what runs in the cluster (cluster-state.ts) and the
 * version table (config/versions.ts; offline, no release server), the upgrades on offer — the
 * newest patch of the cluster's minor and the next minor's row, as kubeadm offers "the latest
 * version in the v1.X series" and "the latest stable version", one minor at a time — with each
 * component's current and target version per node, and what an upgrade cannot do by itself.
 * Rendered in the layout of kubeadm's cmd/kubeadm/app/cmd/upgrade/plan.go.
 */
import { DEFAULT_RELEASE, KUBERNETES_RELEASES, minorOf, releaseOf, type KubernetesRelease } from '../../config/versions.js';
import { HostError } from '../../errors.js';
import { tabwrite } from '../../util/go-format.js';
import { PLAN_COMPONENTS, type ClusterState, type NodeVersion } from './data.js';

export { PLAN_COMPONENTS, type ClusterState, type NodeVersion, type PlanComponent } from './data.js';

export interface ComponentUpgrade {
  name: string;
  /** '' for cluster-wide components (kube-proxy, CoreDNS). */
  node: string;
  current: string;
  target: string;
}

export interface AvailableUpgrade {
  /** kubeadm's words: `version in the v1.36 series`, `stable version`. */
  description: string;
  target: KubernetesRelease;
  /** Upgraded by `upgrade apply` / `upgrade node`. */
  components: ComponentUpgrade[];
  /** Upgraded by the operator (the kubelet binary is theirs, as with kubeadm). */
  manual: ComponentUpgrade[];
}

export interface UpgradePlan {
  clusterVersion: string;
  /** The newest version kubestrap knows (its table's default row). */
  newest: string;
  /** The newest patch of the cluster's minor, when the table has that minor. */
  latestPatch?: string;
  upgrades: AvailableUpgrade[];
  /** What an upgrade cannot do by itself, or must be done first; one sentence each. */
  notes: string[];
  componentConfigs: ClusterState['componentConfigs'];
}

interface Semver {
  major: number;
  minor: number;
  patch: number;
  pre: string;
}

function semver(v: string): Semver | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(v);
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), pre: m[4] ?? '' } : undefined;
}

/** Semantic-version order of two parsable versions (a pre-release sorts before its release). */
export function compareVersions(a: string, b: string): number {
  const x = semver(a);
  const y = semver(b);
  if (!x || !y) throw new Error(`not a version: ${x ? b : a}`);
  const d = x.major - y.major || x.minor - y.minor || x.patch - y.patch;
  if (d !== 0) return d;
  if (x.pre === y.pre) return 0;
  if (x.pre === '') return 1;
  if (y.pre === '') return -1;
  return x.pre < y.pre ? -1 : 1;
}

/** The kubelet may be up to three minors older than kube-apiserver (version-skew policy since v1.28). */
export const KUBELET_MAX_MINOR_SKEW = 3;

const isVersion = (v: string): boolean => semver(v) !== undefined;

function describe(row: KubernetesRelease): string {
  return row === DEFAULT_RELEASE ? 'stable version' : `version in the v1.${row.minor} series`;
}

function upgradeTo(state: ClusterState, target: KubernetesRelease, description: string): AvailableUpgrade {
  const components: ComponentUpgrade[] = [];
  for (const name of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const) {
    for (const nv of state.components[name]) components.push({ name, node: nv.node, current: nv.version, target: target.version });
  }
  if (state.kubeProxyVersion !== undefined) components.push({ name: 'kube-proxy', node: '', current: state.kubeProxyVersion, target: target.version });
  if (state.dnsVersion !== undefined) components.push({ name: 'CoreDNS', node: '', current: state.dnsVersion, target: target.corednsVersion });
  if (!state.externalEtcd) {
    for (const nv of state.components.etcd) components.push({ name: 'etcd', node: nv.node, current: nv.version, target: target.etcdImageTag });
  }
  const manual = state.kubelets
    .filter((k) => k.version !== target.version)
    .sort((a, b) => a.version.localeCompare(b.version) || a.node.localeCompare(b.node))
    .map((k) => ({ name: 'kubelet', node: k.node, current: k.version, target: target.version }));
  return { description, target, components, manual };
}

/** The plan; throws when no kube-apiserver version can be read (nothing to plan from). */
export function computePlan(state: ClusterState): UpgradePlan {
  const notes: string[] = [];
  const apiVersions = state.components['kube-apiserver'].filter((nv) => isVersion(nv.version));
  if (apiVersions.length === 0) {
    throw new HostError('no kube-apiserver mirror pod with a version tag in kube-system (label component=kube-apiserver)', {
      hint: 'is the control plane up, and its agent syncing mirror pods? kubestrap ps shows what runs',
    });
  }
  const clusterVersion = apiVersions.map((nv) => nv.version).reduce((a, b) => (compareVersions(b, a) > 0 ? b : a));
  for (const name of PLAN_COMPONENTS) {
    for (const nv of state.components[name]) {
      if (!isVersion(name === 'etcd' ? nv.version.replace(/-\d+$/, '') : nv.version)) {
        notes.push(
          `${name} on ${nv.node} runs image tag "${nv.version}", which is not a version: kubestrap cannot tell what to upgrade it from; upgrade it by hand`,
        );
      }
    }
  }
  const distinct = [...new Set(apiVersions.map((nv) => nv.version))];
  if (distinct.length > 1) {
    const where = distinct.map(
      (v) =>
        `${v} on ${apiVersions
          .filter((nv) => nv.version === v)
          .map((nv) => nv.node)
          .join(', ')}`,
    );
    notes.push(
      `the API servers run different versions (${where.join('; ')}): bring every control-plane node to ${clusterVersion} first (kubestrap upgrade node)`,
    );
  }
  if (state.configVersion !== '' && state.configVersion !== clusterVersion) {
    notes.push(
      `kube-system/kubeadm-config says kubernetesVersion ${state.configVersion} but kube-apiserver runs ${clusterVersion} (an image-tag edit changes no ConfigMap): \`kubestrap upgrade apply ${clusterVersion}\` records it`,
    );
  }

  const current = releaseOf(clusterVersion);
  const upgrades: AvailableUpgrade[] = [];
  if (current && compareVersions(current.version, clusterVersion) > 0) upgrades.push(upgradeTo(state, current, `version in the v1.${current.minor} series`));
  const minor = semver(clusterVersion)!.minor;
  const next = KUBERNETES_RELEASES.find((r) => r.minor === minor + 1);
  if (next) upgrades.push(upgradeTo(state, next, describe(next)));
  if (compareVersions(clusterVersion, DEFAULT_RELEASE.version) > 0) {
    notes.push(`the cluster runs ${clusterVersion}, newer than any version this kubestrap knows (${DEFAULT_RELEASE.version}): use a newer kubestrap`);
  } else if (!current && !next) {
    notes.push(`kubestrap supports ${KUBERNETES_RELEASES.map((r) => `v1.${r.minor}`).join(', ')}; the cluster's v1.${minor} is outside them`);
  } else if (DEFAULT_RELEASE.minor > minor + 1) {
    notes.push(`${DEFAULT_RELEASE.version} is more than one minor ahead: upgrade one minor at a time (first to ${next?.version ?? `v1.${minor + 1}`})`);
  }

  for (const up of upgrades) {
    const oldest = up.target.minor - KUBELET_MAX_MINOR_SKEW;
    for (const k of state.kubelets) {
      const v = semver(k.version);
      if (v && v.minor < oldest) {
        notes.push(`the kubelet on ${k.node} (${k.version}) would be more than ${KUBELET_MAX_MINOR_SKEW} minors behind ${up.target.version}: upgrade it first`);
      }
    }
    if (up.target.apiserverRefusesLoopbackAdvertise) {
      for (const nv of state.loopbackAdvertise) {
        notes.push(
          `kube-apiserver on ${nv.node} advertises the loopback address ${nv.version}, which ${up.target.version} refuses: an image-tag edit alone leaves it failing; add --endpoint-reconciler-type=none to its manifest (upgrade apply renders it)`,
        );
      }
    }
  }
  if (state.externalEtcd) notes.push('etcd is external: upgrade it yourself (kubestrap upgrades only a local etcd)');
  if (state.agentNodes.length > 0) {
    notes.push(
      `${state.agentNodes.join(', ')} run the kubestrap agent instead of a kubelet; it reports its node's kube-apiserver version (without one, the newest its kubestrap knows) and follows the control plane: nothing to upgrade by hand there`,
    );
  }
  if (upgrades.some((u) => u.manual.length > 0))
    notes.push("the kubelet binaries are the operator's, as with kubeadm: install the target kubelet on each node listed above");
  return {
    clusterVersion,
    newest: DEFAULT_RELEASE.version,
    latestPatch: current?.version,
    upgrades,
    notes: [...new Set(notes)],
    componentConfigs: state.componentConfigs,
  };
}

const SEPARATOR = '_____________________________________________________________________\n\n';

function componentTable(rows: readonly ComponentUpgrade[]): string[] {
  return ['COMPONENT\tNODE\tCURRENT\tTARGET', ...rows.map((c) => `${c.name}\t${c.node}\t${c.current}\t${c.target}`)];
}

/** kubeadm's text output of `upgrade plan`, kubestrap's commands in it, and the notes at the end. */
export function renderPlan(plan: UpgradePlan, kubestrapVersion: string): string {
  const lines: string[] = [
    "[upgrade] Fetching available versions to upgrade to (offline: from kubestrap's version table)",
    `[upgrade/versions] Cluster version: ${plan.clusterVersion}`,
    `[upgrade/versions] kubestrap version: ${kubestrapVersion}`,
    `[upgrade/versions] Target version: ${plan.newest}`,
  ];
  if (plan.latestPatch) lines.push(`[upgrade/versions] Latest version in the v1.${semver(plan.latestPatch)!.minor} series: ${plan.latestPatch}`);
  let out = `${lines.join('\n')}\n\n`;
  if (plan.upgrades.length === 0) out += `Nothing to upgrade to: the cluster runs ${plan.clusterVersion}, and kubestrap knows up to ${plan.newest}.\n\n`;
  for (const up of plan.upgrades) {
    out += "Components that must be upgraded manually after you have upgraded the control plane with 'kubestrap upgrade apply':\n";
    out += tabwrite(componentTable(up.manual));
    out += `\nUpgrade to the latest ${up.description}:\n\n`;
    out += tabwrite(componentTable(up.components));
    out += '\nYou can now apply the upgrade by executing the following command:\n\n';
    out += `\tkubestrap upgrade apply ${up.target.version}\n\n`;
    out += `Or edit the image tags in /etc/kubernetes/manifests to these targets, etcd first, then kube-apiserver, kube-controller-manager and kube-scheduler: the agent replaces each pod once its image is present.\n\n`;
    out += SEPARATOR;
  }
  if (plan.notes.length > 0) {
    out += 'What kubestrap cannot upgrade by itself, or what must be done first:\n';
    for (const n of plan.notes) out += `- ${n}\n`;
    out += `\n${SEPARATOR}`;
  }
  if (plan.componentConfigs.length === 0) return `${out}No information available on component configs.\n`;
  out += `
The table below shows the current state of component configs as understood by this version of kubestrap.
Configs that have a "yes" mark in the "MANUAL UPGRADE REQUIRED" column require manual config upgrade or
resetting to kubestrap defaults before a successful upgrade can be performed. The version to manually
upgrade to is denoted in the "PREFERRED VERSION" column.

`;
  out += tabwrite([
    'API GROUP\tCURRENT VERSION\tPREFERRED VERSION\tMANUAL UPGRADE REQUIRED',
    ...plan.componentConfigs.map(
      (c) => `${c.group}\t${c.current || '-'}\t${c.preferred || '-'}\t${c.current !== '' && c.current !== c.preferred ? 'yes' : 'no'}`,
    ),
  ]);
  return out + SEPARATOR;
}

// ---------------------------------------------------------------------------------------------
/**
 * kubeadm's EnforceVersionPolicies (cmd/kubeadm/app/phases/upgrade/policy.go) with kubeadm's words:
 * what `upgrade apply` refuses outright (mandatory) and what `--force` lets through (skippable).
 * kubestrap's own version table takes the place of kubeadm's version: the target must be one of
 * its rows (offline: there is no other way to know the images and their etcd), and the kubelet
 * skew is the version-skew policy's (three minors since v1.28).
 */
/** kubeadm's MaximumAllowedMinorVersionUpgradeSkew / DowngradeSkew. */
export const MAX_MINOR_UPGRADE_SKEW = 1;
export const MAX_MINOR_DOWNGRADE_SKEW = 1;

export interface SkewErrors {
  mandatory: string[];
  skippable: string[];
}

export interface SkewInput {
  target: string;
  /** The highest kube-apiserver version (upgrade plan's cluster version). */
  clusterVersion: string;
  kubelets: readonly NodeVersion[];
}

export function versionPolicies({ target, clusterVersion, kubelets }: SkewInput): SkewErrors {
  const out: SkewErrors = { mandatory: [], skippable: [] };
  const row = releaseOf(target);
  if (!row || row.version !== target) {
    const rows = KUBERNETES_RELEASES.map((r) => r.version).join(', ');
    out.mandatory.push(
      `Specified version to upgrade to "${target}" is not a version this kubestrap knows: it upgrades offline, to the rows of its version table (${rows})`,
    );
    return out;
  }
  const [newMinor, clusterMinor] = [minorOf(target), minorOf(clusterVersion)];
  const oldest = KUBERNETES_RELEASES.reduce((a, b) => (a.minor < b.minor ? a : b));
  if (compareVersions(target, oldest.version) < 0) {
    out.mandatory.push(
      `Specified version to upgrade to "${target}" is equal to or lower than the minimum supported version "${oldest.version}". Please specify a higher version to upgrade to`,
    );
  }
  if (newMinor > clusterMinor + MAX_MINOR_UPGRADE_SKEW) {
    out.mandatory.push(`Specified version to upgrade to "${target}" is too high; kubeadm can upgrade only ${MAX_MINOR_UPGRADE_SKEW} minor version at a time`);
  }
  if (newMinor < clusterMinor - MAX_MINOR_DOWNGRADE_SKEW) {
    out.mandatory.push(
      `Specified version to downgrade to "${target}" is too low; kubeadm can downgrade only ${MAX_MINOR_DOWNGRADE_SKEW} minor version at a time`,
    );
  }
  if (newMinor > DEFAULT_RELEASE.minor) {
    out.mandatory.push(
      `Specified version to upgrade to "${target}" is at least one minor release higher than the kubeadm minor release (${newMinor} > ${DEFAULT_RELEASE.minor}). Such an upgrade is not supported`,
    );
  }
  if (compareVersions(target, clusterVersion) < 0) {
    out.skippable.push(`Specified version to upgrade to "${target}" is lower than the cluster version "${clusterVersion}". Downgrades are not supported yet`);
  }
  const tooOld = [
    ...new Set(kubelets.filter((k) => /^v?\d+\.\d+/.test(k.version) && newMinor > minorOf(k.version) + KUBELET_MAX_MINOR_SKEW).map((k) => k.version)),
  ];
  if (tooOld.length > 0) out.skippable.push(`There are kubelets in this cluster that are too old that have these versions [${tooOld.join(' ')}]`);
  return out;
}
