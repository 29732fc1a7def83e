/**
 * The layer rules (eslint/layers.js, docs/architecture.md): the table itself, the rule through
 * ESLint's Node API on a file with a wrong import, and the repo's own config (what `npm run lint`
 * runs) failing on one.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { layersPlugin, violation } from '../../eslint/layers.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test('the layer table: what may import what', () => {
  const allowed: [string, string][] = [
    ['kubeconfig/ensure.ts', 'pki/session.ts'],
    ['certs/expiration.ts', 'kubeconfig/load.ts'],
    ['manifests/components.ts', 'agent/index.ts'],
    ['phases/init/agent.ts', 'agent/index.ts'],
    ['phases/init/certs.ts', 'phases/data.ts'],
    ['phases/init/certs.ts', 'phases/runner.ts'],
    ['phases/init/index.ts', 'phases/init/certs.ts'],
    ['phases/join/index.ts', 'phases/init/certs.ts'],
    ['agent/workers/index.ts', 'agent/runtime/types.ts'],
    ['agent/client.ts', 'net/http-probe.ts'],
    ['commands/init.ts', 'phases/init/index.ts'],
  ];
  for (const [from, to] of allowed) assert.equal(violation(from, to), undefined, `${from} → ${to}`);
  // undefined: allowed after all (config may use the host layer)
  const denied: [from: string, to: string, why: RegExp | undefined][] = [
    ['pki/expiration.ts', 'kubeconfig/load.ts', /^pki .* may not import kubeconfig/],
    ['pki/ensure.ts', 'phases/runner.ts', /^pki .* may not import phases/],
    ['phases/init/wait-control-plane.ts', 'agent/sources/decode.ts', /internal to the agent/],
    ['commands/agent.ts', 'agent/workers/index.ts', /internal to the agent/],
    ['manifests/render.ts', 'agent/sources/file.ts', /internal to the agent/],
    ['agent/agent.ts', 'phases/runner.ts', /^agent .* may not import phases/],
    ['agent/config.ts', 'manifests/index.ts', /^agent .* may not import manifests/],
    ['config/resolve.ts', 'host/host.ts', undefined],
    ['host/host.ts', 'config/types.ts', /^base .* may not import config/],
    ['phases/init/upload-config.ts', 'phases/init/cluster-admins.ts', /a phase gets shared services/],
    ['phases/join/discovery.ts', 'phases/init/bootstrap-token.ts', /a phase gets shared services/],
  ];
  for (const [from, to, why] of denied) {
    const got = violation(from, to);
    if (why === undefined) assert.equal(got, undefined, `${from} → ${to}`);
    else assert.match(got ?? '', why, `${from} → ${to}`);
  }
});

test('the rule through the ESLint API: an init phase importing an agent internal fails', async () => {
  const eslint = new ESLint({
    cwd: repo,
    overrideConfigFile: true,
    overrideConfig: [
      {
        files: ['**/*.ts'],
        languageOptions: { parser: tseslint.parser },
        plugins: { kubestrap: layersPlugin },
        rules: { 'kubestrap/imports': 'error' },
      },
    ],
  });
  const filePath = path.join(repo, 'src/phases/init/example.ts');
  const [bad] = await eslint.lintText("import { decodeDocument } from '../../agent/sources/file.js';\nexport const x = decodeDocument;\n", { filePath });
  assert.equal(bad!.errorCount, 1);
  assert.equal(bad!.messages[0]!.ruleId, 'kubestrap/imports');
  assert.match(bad!.messages[0]!.message, /agent\/sources\/file\.ts is internal to the agent; import what you need from src\/agent\/index\.ts/);
  const [dynamic] = await eslint.lintText("export const m = () => import('../../agent/workers/index.js');\n", { filePath });
  assert.equal(dynamic!.errorCount, 1, 'a lazy import() is checked too');
  const [good] = await eslint.lintText("import { AgentClient } from '../../agent/index.js';\nexport const c = new AgentClient();\n", { filePath });
  assert.equal(good!.errorCount, 0);
});

test("the repo's lint config (npm run lint) fails on a wrong import across layers", { timeout: 120_000 }, async () => {
  // With CI=true typescript-eslint infers "single run" mode and builds its program from the files on
  // disk, so lintText's text would never be parsed; this test lints text that is not on disk.
  const eslint = new ESLint({
    cwd: repo,
    overrideConfig: [{ languageOptions: { parserOptions: { disallowAutomaticSingleRunInference: true } } }],
  });
  // pki printing through a phase module: the kind of edge the layers forbid
  const filePath = path.join(repo, 'src/pki/keys.ts');
  const [r] = await eslint.lintText("import type { Phase } from '../phases/runner.js';\nexport type P = Phase<unknown>;\n", { filePath });
  assert.ok(
    r!.messages.some((m) => m.ruleId === 'kubestrap/imports' && /^pki .* may not import phases/.test(m.message)),
    JSON.stringify(r!.messages),
  );
});
