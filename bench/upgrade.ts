/**
 * upgrade benchmark: on a one-node cluster of the previous minor (process runtime, the harness's
 * real binaries of both versions), the seconds the API is unavailable during `kubestrap upgrade
 * apply <newest> --yes` — /readyz on the node's address polled every 50 ms, every failed stretch
 * summed — and, as the reference measured in the same run, kube-apiserver's own restart: the
 * agent restarts the running kube-apiserver pod (POST /restart, what `certs renew` does) before
 * the upgrade and again after it, and the mean of the two outages is the restart time. An upgrade
 * restarts etcd and kube-apiserver, so the ratio says how much more than one kube-apiserver
 * restart the whole upgrade costs the API's clients. Last line `upgrade-downtime-ratio:
 * <ours/restart>` (target ≤ 1.3).
 *
 * BENCH_QUICK=1: the same run (one is all there is), for a smoke test.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AgentClient } from '../src/agent/index.js';
import { Host } from '../src/host/host.js';
import { componentsOf } from '../test/support/components.js';
import { stageImageBinaries } from '../test/support/image-binaries.js';
import { buildCli, forceCleanup, INIT_PORTS, kubestrap } from '../test/support/init-e2e.js';
import { waitPortsFree } from '../test/support/proc.js';
import { Unavailability, UPGRADE_FROM, UPGRADE_TO, upgradeInitArgs, upgradeSkipReason } from '../test/support/upgrade-scenario.js';
import { probeOnce } from '../src/net/http-probe.js';
import { defaultNodeIP } from '../src/net/node-ip.js';

const NODE = 'bench-upgrade';

async function restartApiserver(host: Host, url: string): Promise<number> {
  const down = new Unavailability(url);
  const report = await new AgentClient({ host }).restartUsing(['/etc/kubernetes/pki/apiserver.crt'], 'bench:upgrade reference restart');
  if (!report.restarted.some((p) => p.name.startsWith('kube-apiserver'))) throw new Error(`the agent restarted no kube-apiserver: ${JSON.stringify(report)}`);
  // the agent answers once the pod is ready; the poller closes the outage at its next good /readyz
  const deadline = Date.now() + 120_000;
  while (down.outages.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  const d = await down.stop();
  return d.totalMs / 1000;
}

async function main(): Promise<void> {
  const skip = upgradeSkipReason();
  if (skip) {
    console.log(`# skipped: ${skip}`);
    console.log('upgrade-downtime-ratio: n/a');
    return;
  }
  console.log(`# ${await buildCli()}`);
  await waitPortsFree([...INIT_PORTS], 120_000);
  const rootfs = mkdtempSync(path.join(os.tmpdir(), 'kubestrap-bench-upgrade-'));
  const host = new Host(rootfs);
  const url = `https://${defaultNodeIP()}:6443/readyz`;
  try {
    await stageImageBinaries(rootfs, componentsOf(UPGRADE_FROM.version));
    await stageImageBinaries(rootfs, componentsOf(UPGRADE_TO.version));
    const init = await kubestrap(upgradeInitArgs(rootfs, NODE, ['--runtime', 'process']));
    if (init.code !== 0) throw new Error(`init failed:\n${init.stderr}\n${init.stdout}`);
    // init returns once the API server is ready; the controller-manager and scheduler settle a bit later
    while (!(await probeOnce(url, 1000))) await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, 5000));

    const before = await restartApiserver(host, url);
    console.log(`# kube-apiserver ${UPGRADE_FROM.version} restart (agent): API unavailable ${before.toFixed(2)} s`);

    const down = new Unavailability(url);
    const t0 = performance.now();
    const apply = await kubestrap(['upgrade', 'apply', UPGRADE_TO.version, '--yes', '--rootfs', rootfs], 15 * 60_000);
    const applyS = (performance.now() - t0) / 1000;
    const d = await down.stop();
    if (apply.code !== 0) throw new Error(`upgrade apply failed:\n${apply.stderr}\n${apply.stdout}`);
    for (const line of apply.stdout.split('\n').filter((l) => /upgraded successfully|SUCCESS/.test(l))) console.log(`#   ${line}`);
    const upgradeS = d.totalMs / 1000;
    console.log(
      `# upgrade apply ${UPGRADE_FROM.version} → ${UPGRADE_TO.version}: ${applyS.toFixed(1)} s, API unavailable ${upgradeS.toFixed(2)} s (${d.outages} outage(s), longest ${(d.longestMs / 1000).toFixed(2)} s)`,
    );

    const afterS = await restartApiserver(host, url);
    console.log(`# kube-apiserver ${UPGRADE_TO.version} restart (agent): API unavailable ${afterS.toFixed(2)} s`);
    const restartS = (before + afterS) / 2;
    console.log(`upgrade-api-unavailable-s: ${upgradeS.toFixed(2)}`);
    console.log(`apiserver-restart-s: ${restartS.toFixed(2)}`);
    console.log(`upgrade-downtime-ratio: ${(upgradeS / restartS).toFixed(2)}`);
  } finally {
    const notes = await forceCleanup(rootfs);
    if (notes.length > 0) console.log(`# cleanup: ${notes.join('; ')}`);
  }
}

await main();
