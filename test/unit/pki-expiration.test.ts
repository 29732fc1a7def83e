/** `certs check-expiration`: kubeadm's tables, date format and residual-time rounding. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Host } from '../../src/host/host.js';
import { InitData } from '../../src/phases/init/data.js';
import { certsPhase } from '../../src/phases/init/certs.js';
import { kubeconfigPhase } from '../../src/phases/init/kubeconfig.js';
import { memoryPrinter } from '../../src/output.js';
import { Runner } from '../../src/phases/runner.js';
import { checkExpiration } from '../../src/certs/expiration.js';
import { formatExpiry, shortHumanDuration, tabwrite } from '../../src/util/go-format.js';
import { testConfig } from '../support/config-fixture.js';

const S = 1000;
const H = 3600 * S;

describe('check-expiration formatting', () => {
  it('rounds residual time down like ShortHumanDuration', () => {
    assert.equal(shortHumanDuration(-5 * S), '<invalid>');
    assert.equal(shortHumanDuration(-500), '0s');
    assert.equal(shortHumanDuration(59 * S), '59s');
    assert.equal(shortHumanDuration(59 * 60 * S), '59m');
    assert.equal(shortHumanDuration(23 * H + 59 * 60 * S), '23h');
    assert.equal(shortHumanDuration(365 * 24 * H - 1), '364d');
    assert.equal(shortHumanDuration(3650 * 24 * H - 1), '9y');
  });

  it('prints dates as Go\'s "Jan 02, 2006 15:04 MST" in UTC', () => {
    assert.equal(formatExpiry(new Date('2027-03-04T05:06:59Z')), 'Mar 04, 2027 05:06 UTC');
  });

  it('lays out columns like text/tabwriter(minwidth 10, padding 3)', () => {
    assert.equal(
      tabwrite(['A\tBB\tlast', 'longer-name-here\tx\tl2', '', 'C\tD']),
      [`${'A'.padEnd(19)}${'BB'.padEnd(10)}last`, `longer-name-here   ${'x'.padEnd(10)}l2`, '', `${'C'.padEnd(10)}D`, ''].join('\n'),
    );
  });
});

describe('check-expiration report', () => {
  const roots: string[] = [];
  let rootfs: string;
  let generatedAt: Date;
  const tmp = (): string => {
    const d = mkdtempSync(path.join(tmpdir(), 'kubestrap-exp-'));
    roots.push(d);
    return d;
  };
  before(async () => {
    rootfs = tmp();
    const base = testConfig();
    const config = { ...base, cluster: { ...base.cluster, encryptionAlgorithm: 'ECDSA-P256' as const } };
    const ctx = new InitData({ config, host: new Host(rootfs), out: memoryPrinter(), dryRun: false, uploadCerts: false });
    generatedAt = new Date();
    await new Runner([certsPhase, kubeconfigPhase]).run(ctx);
  });
  after(() => roots.forEach((d) => rmSync(d, { recursive: true, force: true })));

  const opts = { pkiDir: '/etc/kubernetes/pki', kubernetesDir: '/etc/kubernetes', externalEtcd: false };

  it('lists every certificate and kubeconfig client certificate, then the CAs', async () => {
    const text = await checkExpiration(new Host(rootfs), { ...opts, now: new Date(generatedAt.getTime() + 60 * S) });
    const lines = text.split('\n');
    assert.equal(lines[0], 'CERTIFICATE                EXPIRES                  RESIDUAL TIME   CERTIFICATE AUTHORITY   EXTERNALLY MANAGED');
    const names = lines.slice(1, 12).map((l) => l.split(/\s+/)[0]);
    assert.deepEqual(names, [
      'admin.conf',
      'apiserver',
      'apiserver-etcd-client',
      'apiserver-kubelet-client',
      'controller-manager.conf',
      'etcd-healthcheck-client',
      'etcd-peer',
      'etcd-server',
      'front-proxy-client',
      'scheduler.conf',
      'super-admin.conf',
    ]);
    const expires = formatExpiry(new Date(generatedAt.getTime() + 365 * 24 * H));
    assert.match(lines[1]!, new RegExp(`^admin\\.conf {17}${expires.slice(0, 13)}.{9} {3}364d {12}ca {22}no {6}$`));
    assert.match(lines[9]!, /^front-proxy-client .* 364d +front-proxy-ca +no {6}$/);
    assert.equal(lines[12], '');
    assert.equal(lines[13], 'CERTIFICATE AUTHORITY   EXPIRES                  RESIDUAL TIME   EXTERNALLY MANAGED');
    assert.match(lines[14]!, /^ca {22}\w{3} \d\d, \d{4} \d\d:\d\d UTC {3}9y {14}no {6}$/);
    assert.match(lines[15]!, /^etcd-ca /);
    assert.match(lines[16]!, /^front-proxy-ca /);
    assert.equal(lines.length, 18);
  });

  it('marks missing files and externally managed (keyless) CAs', async () => {
    const copy = tmp();
    cpSync(rootfs, copy, { recursive: true });
    unlinkSync(path.join(copy, 'etc/kubernetes/pki/ca.key'));
    unlinkSync(path.join(copy, 'etc/kubernetes/super-admin.conf'));
    unlinkSync(path.join(copy, 'etc/kubernetes/pki/etcd/ca.crt'));
    const text = await checkExpiration(new Host(copy), opts);
    assert.match(text, /\napiserver +.* ca +yes {5}\n/);
    assert.match(text, /\netcd-server +.* etcd-ca +no {6}\n/);
    assert.match(text, /\n!MISSING! super-admin\.conf +\n/);
    assert.match(text, /\nca +.* 9y +yes {5}\n/);
    assert.match(text, /\n!MISSING! etcd-ca +\n/);
  });

  it('leaves out etcd certificates with external etcd', async () => {
    const text = await checkExpiration(new Host(rootfs), { ...opts, externalEtcd: true });
    assert.doesNotMatch(text, /etcd-server|etcd-ca|apiserver-etcd-client/);
  });
});
