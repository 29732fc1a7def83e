/**
 * `kubestrap upgrade apply <version>`, `upgrade node` and `upgrade diff [version]`: kubeadm's
 * commands on the phases of src/phases/upgrade. The configuration is the cluster's kubeadm-config
 * with this node's own part read from what init wrote here (phases/upgrade/node-config.ts).
 */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { DEFAULT_RELEASE } from '../config/versions.js';
import { KUBELET_KUBECONFIG } from '../constants.js';
import { HostError } from '../errors.js';
import { Host } from '../host/host.js';
import { kubeClient } from '../kube/client.js';
import { ADMIN_CONF, fetchKubeadmConfig } from '../kube/kubeadm-config.js';
import type { ComponentName } from '../manifests/index.js';
import { consolePrinter } from '../output.js';
import { Runner } from '../phases/runner.js';
import { plannedChanges, UPGRADE_ORDER } from '../phases/upgrade/control-plane.js';
import { UpgradeData } from '../phases/upgrade/data.js';
import { APPLY_PHASES, NODE_PHASES } from '../phases/upgrade/index.js';
import { readNodeLocal, upgradeConfig, userComponentConfigs } from '../phases/upgrade/node-config.js';
import { StaticPodPathManager } from '../phases/static-pod-paths.js';

interface CommonFlags {
  kubeconfig?: string;
  rootfs?: string;
  dryRun?: boolean;
  certificateRenewal: string;
  etcdUpgrade: string;
}

interface ApplyFlags extends CommonFlags {
  yes?: boolean;
  force?: boolean;
  skipPhases?: string;
}

const bool = (flag: string, v: string): boolean => {
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new HostError(`"${v}" is not a boolean`, { field: flag, hint: 'use true or false' });
};

/** The manifests of the control plane present on this node. */
async function presentComponents(host: Host, paths: StaticPodPathManager): Promise<ComponentName[]> {
  const out: ComponentName[] = [];
  for (const c of UPGRADE_ORDER) if (await host.exists(paths.realManifestPath(c))) out.push(c);
  return out;
}

/** The data of one run: the cluster's kubeadm-config (read with `kubeconfig`), this node, the target. */
async function upgradeData(host: Host, kubeconfig: string, target: string | undefined, flags: CommonFlags & Partial<ApplyFlags>): Promise<UpgradeData> {
  const out = consolePrinter();
  out.line('upgrade/config', 'Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...');
  const loaded = await fetchKubeadmConfig(host, kubeconfig);
  if (!loaded) {
    throw new HostError(`cannot read the kube-system/kubeadm-config ConfigMap with ${host.path(kubeconfig)}`, {
      field: '--kubeconfig',
      hint: 'in order to upgrade, a ConfigMap called "kubeadm-config" in the "kube-system" namespace must exist; use \'kubestrap init phase upload-config kubeadm --config your-config-file\' to re-upload it',
    });
  }
  const local = await readNodeLocal(host);
  const client = await kubeClient(kubeconfig, host);
  const componentConfigs = await userComponentConfigs(client);
  const config = upgradeConfig(loaded, local, target ?? String(loaded.cluster?.kubernetesVersion ?? DEFAULT_RELEASE.version), componentConfigs);
  const paths = new StaticPodPathManager(host, config.paths.kubernetesDir, config.paths.manifestsDir);
  return new UpgradeData({
    config,
    host,
    out,
    dryRun: flags.dryRun === true,
    kubeconfig,
    yes: flags.yes === true,
    force: flags.force === true,
    renewCertificates: bool('--certificate-renewal', flags.certificateRenewal),
    etcdUpgrade: bool('--etcd-upgrade', flags.etcdUpgrade),
    components: await presentComponents(host, paths),
    confirm: async (question) => {
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      try {
        return /^y(es)?$/i.test((await rl.question(question)).trim());
      } finally {
        rl.close();
      }
    },
  });
}

function commonOptions(cmd: Command): Command {
  return cmd
    .option('--rootfs <dir>', 'read and write every host path under this directory')
    .option('--dry-run', 'do not change any state, just output what actions would be performed (with each manifest diff)')
    .option('--certificate-renewal <bool>', 'perform the renewal of certificates used by a component changed during upgrades', 'true')
    .option('--etcd-upgrade <bool>', 'perform the upgrade of etcd', 'true');
}

const KUBELET_NOTE =
  "\nThe kubelet binary is the operator's, as with kubeadm: `upgrade node` writes a kubelet's configuration from the\ncluster's kubelet-config ConfigMap; install the new kubelet and restart it yourself. A node running the kubestrap\nagent needs nothing: the agent follows its control plane.\n";

export function registerUpgradeApply(upgrade: Command): void {
  commonOptions(
    upgrade
      .command('apply')
      .description('Upgrade your Kubernetes cluster to the specified version')
      .argument('<version>', `the version to upgrade to (a row of kubestrap's version table, e.g. ${DEFAULT_RELEASE.version})`),
  )
    .option('--kubeconfig <file>', 'the kubeconfig file to talk to the cluster with', ADMIN_CONF)
    .option('-y, --yes', 'perform the upgrade and do not prompt for confirmation (non-interactive mode)')
    .option('-f, --force', 'force upgrading although some requirements might not be met (skippable version-skew errors)')
    .option('--skip-phases <phases>', 'list of phases to be skipped')
    .addHelpText(
      'after',
      "\nPer component, etcd first: certificates renewed, manifest backed up under /etc/kubernetes/tmp/kubestrap-backup-manifests-<time>/,\nthe new one written, and the agent (not the API server) asked for the new pod, ready and healthy. On a failure every backed-up\nmanifest is restored (and etcd's data dir, when its version changed) and the old version serves again; a rerun continues.\n" +
        KUBELET_NOTE,
    )
    .action(async (version: string, flags: ApplyFlags) => {
      const host = new Host(flags.rootfs ?? '/', { dryRun: flags.dryRun === true });
      const data = await upgradeData(host, flags.kubeconfig ?? ADMIN_CONF, version, flags);
      const runner = new Runner(APPLY_PHASES);
      const t0 = performance.now();
      await runner.run(data, { skip: flags.skipPhases ? flags.skipPhases.split(',').map((s) => s.trim()) : [] });
      const v = data.config.cluster.kubernetesVersion;
      if (data.dryRun) {
        data.out.line('upgrade/successful', 'Finished dryrunning successfully!');
        return;
      }
      data.out.text('');
      data.out.line('upgrade', `SUCCESS! A control plane node of your cluster was upgraded to "${v}" in ${((performance.now() - t0) / 1000).toFixed(1)} s.`);
      data.out.text('');
      data.out.line(
        'upgrade',
        'Now please proceed with upgrading the rest of the nodes by following the right order: `kubestrap upgrade node` on every other control-plane node, then on the workers (and their kubelet binaries: yours, as with kubeadm).',
      );
    });

  commonOptions(upgrade.command('node').description('Upgrade commands for a node in the cluster'))
    .option('--kubeconfig <file>', 'the kubeconfig file to talk to the cluster with (default: admin.conf on a control-plane node, else kubelet.conf)')
    .option('--skip-phases <phases>', 'list of phases to be skipped')
    .addHelpText('after', `\nUpgrades this node to the cluster's kubeadm-config kubernetesVersion (what \`upgrade apply\` recorded).\n${KUBELET_NOTE}`)
    .action(async (flags: ApplyFlags) => {
      const host = new Host(flags.rootfs ?? '/', { dryRun: flags.dryRun === true });
      const kubeconfig = flags.kubeconfig ?? ((await host.exists(ADMIN_CONF)) ? ADMIN_CONF : KUBELET_KUBECONFIG);
      const data = await upgradeData(host, kubeconfig, undefined, { ...flags, yes: true });
      await new Runner(NODE_PHASES).run(data, { skip: flags.skipPhases ? flags.skipPhases.split(',').map((s) => s.trim()) : [] });
      data.out.line(
        'upgrade',
        data.dryRun
          ? 'Finished dryrunning successfully!'
          : `The upgrade for this node to "${data.config.cluster.kubernetesVersion}" was completed successfully!`,
      );
    });

  upgrade
    .command('diff')
    .description('Show what differences would be applied to existing static pod manifests. See also: kubestrap upgrade apply --dry-run')
    .argument('[version]', `the version to compare with (default ${DEFAULT_RELEASE.version})`)
    .option('--kubeconfig <file>', 'the kubeconfig file to talk to the cluster with', ADMIN_CONF)
    .option('--rootfs <dir>', 'read every host path under this directory')
    .option('--etcd-upgrade <bool>', 'include etcd', 'true')
    .action(async (version: string | undefined, flags: CommonFlags) => {
      const host = new Host(flags.rootfs ?? '/', { dryRun: true });
      const data = await upgradeData(host, flags.kubeconfig ?? ADMIN_CONF, version ?? DEFAULT_RELEASE.version, { ...flags, certificateRenewal: 'false' });
      for (const ch of await plannedChanges(data)) {
        if (ch.diff) process.stdout.write(ch.diff);
        else data.out.line('upgrade/diff', `${ch.component}: no change`);
      }
    });
}
