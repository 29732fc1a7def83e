/** The test bed cluster's reading of init's join command (test/support/cluster.ts) against init's own closing message. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closingMessage } from '../../src/phases/init/show-join-command.js';
import { parseJoinCommand } from '../support/cluster.js';

const hash = `sha256:${'ab'.repeat(32)}`;
const base = { adminConf: '/r/etc/kubernetes/admin.conf', endpoint: '198.18.0.10:6443', token: 'abcdef.0123456789abcdef', caHash: hash };

test('parseJoinCommand reads the worker join command init prints', () => {
  const join = parseJoinCommand(`[addons] x\n${closingMessage({ ...base, showControlPlaneJoin: false })}\n`);
  assert.deepEqual(join, {
    endpoint: '198.18.0.10:6443',
    token: 'abcdef.0123456789abcdef',
    caCertHashes: [hash],
    args: ['198.18.0.10:6443', '--token', 'abcdef.0123456789abcdef', '--discovery-token-ca-cert-hash', hash],
  });
});

test('parseJoinCommand skips the control-plane join command', () => {
  const join = parseJoinCommand(closingMessage({ ...base, showControlPlaneJoin: true, certificateKey: 'k'.repeat(64) }));
  assert.ok(!join.args.includes('--control-plane'), join.args.join(' '));
  assert.equal(join.token, base.token);
});

test('parseJoinCommand names what it could not find', () => {
  assert.throws(() => parseJoinCommand('Your Kubernetes control-plane has initialized successfully!\n'), /init printed no worker join command/);
});
