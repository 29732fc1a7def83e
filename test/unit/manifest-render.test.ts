/** Templates fail loudly, and the etcd / control-plane phases write 0600 files into a 0700 directory. */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ResolvedConfig } from '../../src/config/types.js';
import { ManifestError } from '../../src/errors.js';
import { Host } from '../../src/host/host.js';
import { renderControlPlaneManifests } from '../../src/manifests/index.js';
import { DEFAULT_TEMPLATES_DIR } from '../../src/manifests/templates.js';
import { InitData } from '../../src/phases/init/data.js';
import { controlPlanePhase } from '../../src/phases/init/control-plane.js';
import { etcdPhase } from '../../src/phases/init/etcd.js';
import { memoryPrinter } from '../../src/output.js';
import { Runner } from '../../src/phases/runner.js';
import { testConfig } from '../support/config-fixture.js';

const temps: string[] = [];
async function tempDir(label: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), `kubestrap-${label}-`));
  temps.push(dir);
  return dir;
}
after(async () => {
  await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })));
});

async function listAll(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).sort();
}

describe('a broken template', () => {
  let templates: string;
  let root: string;
  before(async () => {
    root = await tempDir('broken-root');
  });

  /** A copy of the real templates with one file replaced by `mutate(original)`. */
  async function brokenTemplates(file: string, mutate: (text: string) => string): Promise<string> {
    templates = await tempDir('templates');
    await cp(DEFAULT_TEMPLATES_DIR, templates, { recursive: true });
    const target = path.join(templates, file);
    await writeFile(target, mutate(await readFile(target, 'utf8')));
    return templates;
  }

  async function renderError(templatesDir: string, config = testConfig()): Promise<ManifestError> {
    const err = await renderControlPlaneManifests(config, new Host(root), { templatesDir, environment: {} }).then(
      () => assert.fail('rendering should fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ManifestError, String(err));
    assert.deepEqual(await listAll(root), [], 'nothing is written');
    return err;
  }

  // Errors found after rendering cannot tell a partial from its includer: they name the component template.
  const cases: {
    what: string;
    file: string;
    mutate: (t: string) => string;
    field?: string;
    message: RegExp;
    reported?: string;
    config?: (c: ResolvedConfig) => void;
  }[] = [
    { what: 'syntax error', file: 'kube-scheduler.yaml.hbs', mutate: (t) => t.replace('{{/each}}', ''), message: /does not parse/ },
    {
      what: 'unknown value (strict mode)',
      file: 'kube-apiserver.yaml.hbs',
      mutate: (t) => t.replace('{{q image}}', '{{q imagee}}'),
      message: /does not render: \{\{q\}\} got undefined/,
    },
    { what: 'broken partial', file: '_probe.yaml.hbs', mutate: (t) => t.replace('{{#if host}}', '{{#if host}'), message: /does not parse/ },
    { what: 'invalid YAML', file: 'etcd.yaml.hbs', mutate: (t) => t.replace('  labels:', ' labels:'), message: /rendered manifest is not valid YAML/ },
    {
      what: 'missing image',
      file: 'kube-controller-manager.yaml.hbs',
      mutate: (t) => t.replace(/^ {4}image: .*\n/m, ''),
      field: 'spec.containers[0].image',
      message: /Required value/,
    },
    {
      what: 'mount of an undefined volume',
      file: '_container-mounts.yaml.hbs',
      mutate: (t) => t.replace('name: {{q name}}', 'name: x{{name}}'),
      field: 'spec.containers[0].volumeMounts[0].name',
      message: /Not found: "xetcd-data"/,
      reported: 'etcd.yaml.hbs',
    },
    {
      what: 'probe on an undeclared port',
      file: 'kube-scheduler.yaml.hbs',
      mutate: (t) => t.replace('name: probe-port', 'name: probe'),
      field: 'spec.containers[0].livenessProbe.httpGet.port',
      message: /does not declare/,
    },
    {
      what: 'relative hostPath',
      file: '_pod-spec.yaml.hbs',
      mutate: (t) => t.replace('path: {{q hostPath}}', 'path: .{{hostPath}}'),
      field: 'spec.volumes[0].hostPath.path',
      message: /absolute/,
      reported: 'etcd.yaml.hbs',
    },
    {
      what: 'unquoted value that YAML reads differently',
      file: 'kube-apiserver.yaml.hbs',
      mutate: (t) => t.replace('- {{q this}}', '- {{this}}'),
      config: (c) => void (c.cluster.apiServer.extraArgs = [{ name: 'audit-policy-file', value: '/etc/a #1' }]),
      field: 'spec.containers[0].command',
      message: /instead of/,
    },
  ];
  for (const c of cases) {
    test(`${c.what} → ManifestError naming ${c.file}`, async () => {
      const config = testConfig();
      c.config?.(config);
      const err = await renderError(await brokenTemplates(c.file, c.mutate), config);
      const reported = c.reported ?? c.file;
      assert.match(err.message, c.message);
      if (c.field) assert.equal(err.field, c.field);
      assert.equal(err.file, path.join(templates, reported));
      assert.ok(err.oneLine().startsWith(`${path.join(templates, reported)}: `), err.oneLine());
    });
  }

  test('a missing templates directory', async () => {
    const err = await renderError(path.join(root, 'no-such-dir'));
    assert.match(err.message, /cannot read the templates/);
  });
});

function context(config: ResolvedConfig, root: string, dryRun = false): InitData<ReturnType<typeof memoryPrinter>> {
  return new InitData({ config, host: new Host(root, { dryRun }), out: memoryPrinter(), dryRun, uploadCerts: false });
}

const runner = new Runner<InitData>([etcdPhase, controlPlanePhase]);

describe('etcd and control-plane phases', () => {
  test('write the four manifests 0600 in a 0700 directory, the etcd data dir 0700, with kubeadm output', async () => {
    const root = await tempDir('phases');
    const ctx = context(testConfig({ apiserverAdvertiseAddress: '10.0.0.1' }), root);
    const ran = await runner.run(ctx);
    assert.deepEqual(ran, ['etcd/local', 'control-plane', 'control-plane/apiserver', 'control-plane/controller-manager', 'control-plane/scheduler']);
    assert.deepEqual(ctx.out.lines, [
      '[etcd] Creating static Pod manifest for local etcd in "/etc/kubernetes/manifests"',
      '[control-plane] Using manifest folder "/etc/kubernetes/manifests"',
      '[control-plane] Creating static Pod manifest for "kube-apiserver"',
      '[control-plane] Creating static Pod manifest for "kube-controller-manager"',
      '[control-plane] Creating static Pod manifest for "kube-scheduler"',
    ]);
    const dir = path.join(root, 'etc/kubernetes/manifests');
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.deepEqual(await readdir(dir), ['etcd.yaml', 'kube-apiserver.yaml', 'kube-controller-manager.yaml', 'kube-scheduler.yaml']);
    const rendered = await renderControlPlaneManifests(ctx.config, ctx.host);
    for (const [component, m] of rendered) {
      const file = path.join(dir, `${component}.yaml`);
      assert.equal((await stat(file)).mode & 0o777, 0o600, file);
      assert.equal(await readFile(file, 'utf8'), m.yaml);
    }
    assert.equal((await stat(path.join(root, 'var/lib/etcd'))).mode & 0o777, 0o700);
  });

  test('one subphase writes only its manifest', async () => {
    const root = await tempDir('subphase');
    const ctx = context(testConfig(), root);
    assert.deepEqual(await runner.run(ctx, { only: 'control-plane/scheduler' }), ['control-plane/scheduler']);
    assert.deepEqual(await readdir(path.join(root, 'etc/kubernetes/manifests')), ['kube-scheduler.yaml']);
  });

  test('external etcd: etcd/local writes nothing and says so', async () => {
    const root = await tempDir('external');
    const config = testConfig();
    config.cluster.etcd = { external: { endpoints: ['https://10.0.0.5:2379'], caFile: '', certFile: '', keyFile: '' } };
    const ctx = context(config, root);
    await runner.run(ctx, { only: 'etcd' });
    assert.deepEqual(ctx.out.lines, ['[etcd] External etcd mode: skipping the creation of a manifest for local etcd']);
    assert.deepEqual(await listAll(root), []);
  });

  test('dry run plans the writes and writes nothing', async () => {
    const root = await tempDir('dry');
    const ctx = context(testConfig(), root, true);
    await runner.run(ctx);
    assert.deepEqual(await listAll(root), []);
    assert.deepEqual(
      ctx.host.planned.map((w) => [w.path, w.mode]),
      ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].map((c) => [`/etc/kubernetes/manifests/${c}.yaml`, 0o600]),
    );
    assert.ok(ctx.out.lines.includes('[etcd] Would ensure that "/var/lib/etcd" directory is present'));
  });

  test('an invalid Pod in any phase fails in prepare, before any phase writes', async () => {
    const root = await tempDir('prepare');
    const config = testConfig();
    // Config validation rejects this; here it stands for any input that makes a Pod invalid.
    config.cluster.scheduler.extraVolumes = [{ name: 'bad', hostPath: 'relative/dir', mountPath: '/x' }];
    const err = await runner.run(context(config, root)).catch((e: unknown) => e);
    assert.ok(err instanceof ManifestError);
    assert.match(err.oneLine(), /kube-scheduler\.yaml\.hbs: spec\.volumes\[\d\]\.hostPath\.path: Invalid value: "relative\/dir": must be an absolute path/);
    assert.deepEqual(await listAll(root), []);
  });
});
