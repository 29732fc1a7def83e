/**
 * `kubestrap token`: kubeadm's checks of create's input and delete's arguments, the Secret read
 * back, the list table, and create/delete (dry run included) over a fake token store.
 */
import type { V1Secret } from '@kubernetes/client-node';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runCreate, runDelete, runList, tokenIdsToDelete, tokenToCreate } from '../../src/commands/token.js';
import { tokenRow, tokenTable } from '../../src/commands/token-table.js';
import { ConfigError } from '../../src/errors.js';
import { bootstrapTokenSecret, tokenFromSecret } from '../../src/kube/bootstrap-token.js';
import type { TokenStore } from '../../src/kube/token-store.js';

const TOKEN = 'abcdef.0123456789abcdef';
const NOW = Date.parse('2026-12-01T12:00:00Z');

function fails(fn: () => unknown, line: string): void {
  assert.throws(fn, (e: unknown) => e instanceof ConfigError && e.oneLine() === line);
}

function fakeStore(initial: V1Secret[] = []): TokenStore & { secrets: V1Secret[]; deleted: string[] } {
  const secrets = [...initial];
  const deleted: string[] = [];
  return {
    secrets,
    deleted,
    exists: async (name) => secrets.some((s) => s.metadata?.name === name),
    create: async (s) => void secrets.push(s),
    list: async () => secrets,
    delete: async (name) => void deleted.push(name),
  };
}

describe('token create: input', () => {
  test("kubeadm's defaults: 24h, signing+authentication, the default node-token group, a random token", () => {
    const t = tokenToCreate(undefined, {});
    assert.match(t.token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    assert.deepEqual(
      { ...t, token: '' },
      { token: '', ttl: '24h0m0s', usages: ['signing', 'authentication'], groups: ['system:bootstrappers:kubeadm:default-node-token'] },
    );
  });

  test('bad input is one line naming the flag', () => {
    fails(
      () => tokenToCreate('abcdef.0123', {}),
      '[token]: "abcdef.0123" is not a valid bootstrap token (a token looks like abcdef.0123456789abcdef ([a-z0-9]{6}.[a-z0-9]{16}))',
    );
    fails(() => tokenToCreate(TOKEN, { ttl: '1d' }), '--ttl: "1d" is not a valid duration (use a Go duration like 24h0m0s, 4m or 500ms)');
    fails(() => tokenToCreate(TOKEN, { usages: ['signing', 'auth'] }), '--usages: "auth" is not a token usage (use signing or authentication)');
    fails(
      () => tokenToCreate(TOKEN, { groups: ['system:bootstrappers:Lab'] }),
      '--groups: "system:bootstrappers:Lab" is not a bootstrap group (groups must match ^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$)',
    );
    fails(
      () => tokenToCreate(TOKEN, { usages: ['signing'] }),
      '--groups: token groups cannot be specified unless the usages include "authentication" (add the authentication usage or drop the groups)',
    );
    fails(() => tokenToCreate(TOKEN, { certificateKey: 'ab'.repeat(32) }), '--certificate-key: cannot use --certificate-key without --print-join-command');
    fails(
      () => tokenToCreate(TOKEN, { printJoinCommand: true, certificateKey: 'xyz' }),
      '--certificate-key: is not a certificate key (a certificate key is 64 hex characters, from "kubestrap init phase upload-certs --upload-certs")',
    );
  });

  test("ttl 0 never expires; the Secret has kubeadm's fields", () => {
    const t = tokenToCreate(TOKEN, { ttl: '0', usages: ['signing'], groups: [], description: 'lab' });
    const data = Object.fromEntries(Object.entries(bootstrapTokenSecret(t).data!).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
    assert.deepEqual(data, { 'token-id': 'abcdef', 'token-secret': '0123456789abcdef', description: 'lab', 'usage-bootstrap-signing': 'true' });
  });
});

describe('token delete: arguments', () => {
  test('a token id or a whole token; anything else fails before any delete', () => {
    assert.deepEqual(tokenIdsToDelete(['abcdef', 'ghijkl.0123456789abcdef']), ['abcdef', 'ghijkl']);
    fails(() => tokenIdsToDelete([]), `missing argument; 'token delete' is missing token of form "[a-z0-9]{6}.[a-z0-9]{16}" or "[a-z0-9]{6}"`);
    fails(
      () => tokenIdsToDelete(['abcdef', 'ABCDEF']),
      '[token-value]: given token "ABCDEF" didn\'t match pattern "[a-z0-9]{6}.[a-z0-9]{16}" or "[a-z0-9]{6}"',
    );
  });
});

describe('token list', () => {
  const secret = bootstrapTokenSecret(
    { token: TOKEN, ttl: '2h', usages: ['signing', 'authentication'], groups: ['system:bootstrappers:kubeadm:default-node-token'], description: 'lab' },
    new Date(NOW),
  );

  test('a Secret reads back as the token kubeadm lists (usages sorted)', () => {
    assert.deepEqual(tokenFromSecret(secret), {
      token: TOKEN,
      description: 'lab',
      expires: '2026-12-01T14:00:00Z',
      usages: ['authentication', 'signing'],
      groups: ['system:bootstrappers:kubeadm:default-node-token'],
    });
    assert.throws(() => tokenFromSecret({ metadata: { name: 'bootstrap-token-zzzzzz' }, data: secret.data }), /bootstrap token name is not of the form/);
  });

  test("kubeadm's columns and padding; <forever>/<never>/<none> for a token without expiry, usages or groups", () => {
    const t = tokenFromSecret(secret);
    assert.equal(
      tokenRow(t, NOW),
      `${TOKEN}\t2h       \t2026-12-01T14:00:00Z\tauthentication,signing\tlab${' '.repeat(53)}\tsystem:bootstrappers:kubeadm:default-node-token`,
    );
    const table = tokenTable([t, { token: 'ghijkl.0123456789abcdef', usages: [], groups: [] }], NOW).split('\n');
    assert.equal(table[0], `TOKEN${' '.repeat(21)}TTL${' '.repeat(9)}EXPIRES${' '.repeat(16)}USAGES${' '.repeat(19)}DESCRIPTION${' '.repeat(48)}EXTRA GROUPS`);
    assert.equal(
      table[1],
      `${TOKEN}   2h${' '.repeat(10)}2026-12-01T14:00:00Z   authentication,signing   lab${' '.repeat(56)}system:bootstrappers:kubeadm:default-node-token`,
    );
    // each token has its own tabwriter in kubeadm: "<never>" makes a narrower column there too
    assert.equal(table[2], `ghijkl.0123456789abcdef   <forever>   <never>   <none>${' '.repeat(19)}<none>${' '.repeat(53)}<none>`);
    assert.equal(tokenTable([], NOW), '');
  });

  test('a malformed Secret is reported and skipped', async () => {
    const out: string[] = [];
    const warn: string[] = [];
    await runList(
      async () => fakeStore([secret, { metadata: { name: 'bootstrap-token-x' }, data: {} }]),
      (t) => out.push(t),
      (t) => warn.push(t),
      NOW,
    );
    assert.equal(out.join('').split('\n').length, 3);
    assert.deepEqual(warn, ['bootstrap Token Secret has no token-id data: bootstrap-token-x\n']);
  });
});

describe('token create and delete over the API', () => {
  test('create writes the Secret and prints the token; an existing id is refused before writing', async () => {
    const store = fakeStore();
    const out: string[] = [];
    await runCreate(
      TOKEN,
      { description: 'x' },
      async () => store,
      (t) => out.push(t),
    );
    assert.deepEqual(out, [`${TOKEN}\n`]);
    assert.equal(store.secrets[0]?.metadata?.name, 'bootstrap-token-abcdef');
    await assert.rejects(
      runCreate(
        TOKEN,
        {},
        async () => store,
        () => {},
      ),
      (e: unknown) => e instanceof ConfigError && e.message === 'a token with id "abcdef" already exists',
    );
    assert.equal(store.secrets.length, 1);
  });

  test('--dry-run prints the Secret and the token and writes nothing; delete prints what it would delete', async () => {
    const store = fakeStore();
    const out: string[] = [];
    await runCreate(
      TOKEN,
      { dryRun: true },
      async () => store,
      (t) => out.push(t),
    );
    assert.equal(store.secrets.length, 0);
    assert.match(out[0]!, /^\[dryrun\] Would perform action CREATE on resource "secrets" in API group "core\/v1"\n\[dryrun\] Attached object:\n/);
    assert.match(out[0]!, /type: bootstrap.kubernetes.io\/token/);
    assert.equal(out[1], `${TOKEN}\n`);
    const del: string[] = [];
    await runDelete(
      ['abcdef'],
      { dryRun: true },
      async () => store,
      (t) => del.push(t),
    );
    assert.deepEqual(store.deleted, []);
    assert.equal(del[1], 'bootstrap token "abcdef" deleted\n');
    await runDelete(
      [TOKEN],
      {},
      async () => store,
      () => {},
    );
    assert.deepEqual(store.deleted, ['bootstrap-token-abcdef']);
  });
});
