/** The small commands: version shapes, unknown commands, completion, ps's expiry warnings, restart lines. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildProgram, unknownCommand } from '../../src/cli.js';
import { COMMANDS } from '../../src/commands/index.js';
import { expiryWarnings } from '../../src/commands/ps-table.js';
import { completionTree } from '../../src/commands/completion.js';
import { restartLines } from '../../src/commands/certs-renew.js';
import { goSyntax, renderVersion, versionInfo } from '../../src/commands/version.js';
import { Host } from '../../src/host/host.js';

describe('kubestrap version', () => {
  const v = versionInfo('1.2.3');
  it("prints kubeadm's shapes", () => {
    assert.equal(renderVersion('short', v), 'v1.2.3\n');
    assert.match(goSyntax(v), /^&version\.Info\{Major:"1", Minor:"2", EmulationMajor:"", .*GitVersion:"v1\.2\.3", .*Platform:"linux\/\w+"\}$/);
    assert.deepEqual(Object.keys((JSON.parse(renderVersion('json', v)) as { clientVersion: object }).clientVersion), [
      'major',
      'minor',
      'gitVersion',
      'gitCommit',
      'gitTreeState',
      'buildDate',
      'goVersion',
      'compiler',
      'platform',
    ]);
    assert.match(renderVersion('yaml', v), /^clientVersion:\n {2}buildDate: ""\n {2}compiler: node\n/);
    assert.throws(() => renderVersion('xml', v), /invalid output format: xml/);
  });
});

describe('unknown commands', () => {
  const program = buildProgram(COMMANDS);
  it('are found in every command group, --help or not', () => {
    assert.deepEqual(unknownCommand(program, ['bogus', '--help'])?.word, 'bogus');
    assert.deepEqual(unknownCommand(program, ['upgrade', 'bogus'])?.path, 'kubestrap upgrade');
    assert.deepEqual(unknownCommand(program, ['certs', 'bogus'])?.path, 'kubestrap certs');
    assert.equal(unknownCommand(program, ['certs', 'renew', 'all']), undefined);
    assert.equal(unknownCommand(program, ['logs', 'kube-apiserver']), undefined, 'an argument of a command with an action');
    assert.equal(unknownCommand(program, ['help', 'certs']), undefined);
    assert.equal(unknownCommand(program, ['--help']), undefined);
  });

  it('completion covers every command and flag', () => {
    const tree = completionTree(program);
    assert.ok(tree.find((n) => n.path.join(' ') === 'certs renew')?.values.includes('front-proxy-client'));
    assert.ok(tree.find((n) => n.path.length === 0)?.subcommands.includes('version'));
    assert.ok(tree.find((n) => n.path.join(' ') === 'kubeconfig user')?.flags.includes('--client-name'));
  });
});

describe('kubestrap ps and certs renew output', () => {
  it('warns about certificates expiring within 30 days', () => {
    const now = Date.parse('2026-12-01T00:00:00Z');
    const metrics = [
      'kubestrap_certificate_expiration_seconds{file="/etc/kubernetes/pki/apiserver.crt"} ' + (now / 1000 + 10 * 86400),
      'kubestrap_certificate_expiration_seconds{file="/etc/kubernetes/pki/ca.crt"} ' + (now / 1000 + 3650 * 86400),
      'kubestrap_certificate_expiration_seconds{file="/etc/kubernetes/admin.conf"} ' + (now / 1000 - 3600),
    ].join('\n');
    assert.deepEqual(expiryWarnings(metrics, now), [
      'warning: certificate /etc/kubernetes/pki/apiserver.crt expires in 10d (2026-12-11T00:00:00.000Z): run "kubestrap certs renew all"',
      'warning: certificate /etc/kubernetes/admin.conf expired 60m ago (2026-11-30T23:00:00.000Z): run "kubestrap certs renew all"',
    ]);
  });

  it('lists the restarted pods with the files they use', () => {
    const lines = restartLines(
      {
        kind: 'RestartReport',
        restarted: [
          { namespace: 'kube-system', name: 'etcd-n1', containers: 1, ready: true, runningMs: 1200, ms: 3200, files: ['/etc/kubernetes/pki/etcd/server.crt'] },
        ],
        notRestarted: [],
      },
      new Host('/'),
    );
    assert.deepEqual(lines, [
      '[restart] Restarted kube-system/etcd-n1 (1 container, running again after 1.2s, ready after 3.2s): uses /etc/kubernetes/pki/etcd/server.crt',
    ]);
  });
});
