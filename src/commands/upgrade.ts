/**
 * `kubestrap upgrade plan` (apply, node and diff: upgrade-apply.ts): kubeadm's command, offline — the targets come from kubestrap's version
 * table (src/config/versions.ts), the current versions from the cluster (src/phases/upgrade).
 */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { resolveClusterConfiguration } from '../config/resolve.js';
import { ConfigError, HostError } from '../errors.js';
import { Host } from '../host/host.js';
import { kubeClient } from '../kube/client.js';
import { ADMIN_CONF, fetchKubeadmConfig } from '../kube/kubeadm-config.js';
import { readClusterState } from '../phases/upgrade/cluster-state.js';
import { computePlan, renderPlan } from '../phases/upgrade/plan.js';
import { registerUpgradeApply } from './upgrade-apply.js';
import { versionInfo } from './version.js';

interface PlanFlags {
  kubeconfig: string;
  rootfs?: string;
  output: string;
}

const OUTPUTS = ['text', 'json', 'yaml'] as const;

export function registerUpgrade(program: Command): void {
  const upgrade = program.command('upgrade').description('Upgrade your cluster smoothly to a newer version with this command');
  upgrade
    .command('plan')
    .description('Check which versions are available to upgrade to and validate whether your current cluster is upgradeable')
    .addHelpText(
      'after',
      "\nOffline: the versions on offer are the rows of kubestrap's version table, never a release server.\nThis command can only run where admin.conf (or --kubeconfig) reaches the cluster.\n",
    )
    .option('--kubeconfig <file>', 'the kubeconfig file to talk to the cluster with', ADMIN_CONF)
    .option('--rootfs <dir>', 'read every host path under this directory')
    .option('-o, --output <format>', `output format: one of ${OUTPUTS.join('|')}`, 'text')
    .action(async (flags: PlanFlags) => {
      if (!(OUTPUTS as readonly string[]).includes(flags.output)) {
        throw new ConfigError(`unknown output format "${flags.output}"`, { field: '--output', hint: `use ${OUTPUTS.join(', ')}` });
      }
      const host = new Host(flags.rootfs ?? '/');
      const text = flags.output === 'text';
      if (text) process.stdout.write('[upgrade/config] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...\n');
      const loaded = await fetchKubeadmConfig(host, flags.kubeconfig);
      if (!loaded) {
        throw new HostError(`cannot read the kube-system/kubeadm-config ConfigMap with ${host.path(flags.kubeconfig)}`, {
          field: '--kubeconfig',
          hint: 'is the API server up, and was the cluster made by kubestrap (or kubeadm) init?',
        });
      }
      const cluster = resolveClusterConfiguration({}, { loaded });
      const state = await readClusterState(await kubeClient(flags.kubeconfig, host), cluster);
      const plan = computePlan(state);
      if (text) process.stdout.write(renderPlan(plan, versionInfo().gitVersion));
      else {
        const doc = {
          apiVersion: 'output.kubestrap.io/v1alpha1',
          kind: 'UpgradePlan',
          ...plan,
          upgrades: plan.upgrades.map((u) => ({ ...u, target: u.target.version })),
        };
        process.stdout.write(flags.output === 'json' ? `${JSON.stringify(doc, null, 4)}\n` : stringify(doc));
      }
    });
  registerUpgradeApply(upgrade);
}
