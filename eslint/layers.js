/**
 * kubestrap's layer rules (docs/architecture.md, "Layers"), as one ESLint rule: every relative
 * import under src/ is resolved to the module it names and checked against the table below. A
 * violation is a lint error, so `npm test` (which runs `npm run lint`) fails on it.
 */
import path from 'node:path';

/**
 * Layers, lowest first. A module may import its own layer and the layers in `uses`. Paths are
 * relative to src/ (a trailing slash means the directory).
 */
export const LAYERS = [
  { name: 'base', paths: ['errors.ts', 'constants.ts', 'output.ts', 'util/', 'net/', 'host/'], uses: [] },
  { name: 'config', paths: ['config/'], uses: ['base'] },
  { name: 'pod', paths: ['pod/'], uses: ['base'] },
  { name: 'cri', paths: ['cri/'], uses: ['base'] },
  { name: 'etcd', paths: ['etcd/'], uses: ['base'] },
  { name: 'lb', paths: ['lb/'], uses: ['base'] },
  { name: 'images', paths: ['images/'], uses: ['base', 'config'] },
  { name: 'pki', paths: ['pki/'], uses: ['base', 'config'] },
  { name: 'kubeconfig', paths: ['kubeconfig/'], uses: ['base', 'config', 'pki'] },
  { name: 'kube', paths: ['kube/'], uses: ['base', 'config', 'kubeconfig'] },
  { name: 'certs', paths: ['certs/'], uses: ['base', 'config', 'pki', 'kubeconfig', 'kube'] },
  { name: 'agent', paths: ['agent/'], uses: ['base', 'config', 'pod', 'cri', 'lb', 'images', 'pki', 'kubeconfig', 'kube'] },
  { name: 'manifests', paths: ['manifests/'], uses: ['base', 'config', 'pod', 'agent'] },
  {
    name: 'phases',
    paths: ['phases/'],
    uses: ['base', 'config', 'pod', 'cri', 'etcd', 'lb', 'images', 'kube', 'pki', 'kubeconfig', 'certs', 'agent', 'manifests'],
  },
  {
    name: 'commands',
    paths: ['commands/', 'cli.ts'],
    uses: ['base', 'config', 'pod', 'cri', 'etcd', 'lb', 'images', 'kube', 'pki', 'kubeconfig', 'certs', 'agent', 'manifests', 'phases'],
  },
];

/** The only module of src/agent that other layers may import. */
export const AGENT_ENTRY = 'agent/index.ts';
/** Files of a workflow directory (phases/<workflow>/) that are not phases. */
const WORKFLOW_SHARED = new Set(['index.ts', 'data.ts']);

function layerOf(rel) {
  return LAYERS.find((l) => l.paths.some((p) => (p.endsWith('/') ? rel.startsWith(p) : rel === p)));
}

/** phases/<workflow>/<file> → { workflow, file }; undefined for phases/*.ts (runner, data, ...). */
function workflowOf(rel) {
  const m = /^phases\/([^/]+)\/(.+)$/.exec(rel);
  return m ? { workflow: m[1], file: m[2] } : undefined;
}

/**
 * Why importing `to` from `from` (both relative to src/, .ts) breaks a layer rule, or undefined.
 * Exported for the rule's unit test.
 */
export function violation(from, to) {
  const a = layerOf(from);
  const b = layerOf(to);
  if (!a || !b) return undefined;
  if (a !== b && !a.uses.includes(b.name)) {
    return `${a.name} (${from}) may not import ${b.name} (${to}); ${a.name} may use: ${a.uses.join(', ') || 'nothing else'}`;
  }
  if (b.name === 'agent' && a.name !== 'agent' && to !== AGENT_ENTRY) {
    return `${to} is internal to the agent; import what you need from src/${AGENT_ENTRY} (the agent's public entry)`;
  }
  const wa = workflowOf(from);
  const wb = workflowOf(to);
  if (wa && wb && !WORKFLOW_SHARED.has(wa.file)) {
    // a phase uses shared pieces (phases/*.ts, its workflow's data.ts), never another phase
    if (wb.workflow !== wa.workflow || wb.file !== 'data.ts') {
      return `phase ${from} may not import ${to}: a phase gets shared services from its workflow data (phases/data.ts), and only a workflow's index.ts composes phases`;
    }
  }
  return undefined;
}

const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'imports must follow the layer rules of docs/architecture.md' },
    schema: [{ type: 'object', properties: { srcRoot: { type: 'string' } }, additionalProperties: false }],
    messages: { layer: '{{why}}' },
  },
  create(context) {
    const srcRoot = path.resolve(context.options[0]?.srcRoot ?? path.join(context.cwd, 'src'));
    const from = path.relative(srcRoot, context.filename).split(path.sep).join('/');
    if (from.startsWith('..')) return {};
    const check = (node, source) => {
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const target = path.resolve(path.dirname(context.filename), source).replace(/\.js$/, '.ts');
      const to = path.relative(srcRoot, target).split(path.sep).join('/');
      const why = violation(from, to);
      if (why) context.report({ node, messageId: 'layer', data: { why } });
    };
    return {
      ImportDeclaration: (node) => check(node.source, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node.source, node.source.value),
      ExportAllDeclaration: (node) => check(node.source, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node.source, node.source.value),
      TSImportType: (node) => {
        const lit = node.argument?.literal ?? node.argument;
        if (lit?.type === 'Literal') check(lit, lit.value);
      },
    };
  },
};

export const layersPlugin = { rules: { imports: rule } };
