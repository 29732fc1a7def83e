/**
 * `--config FILE`: a multi-document YAML file with a kubeadm.k8s.io/v1beta4 InitConfiguration
 * and/or ClusterConfiguration. Decoding is strict like kubeadm's: unknown fields, wrong types,
 * old API versions and duplicate documents are errors that name the file and the dotted field.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments, YAMLError } from 'yaml';
import { ConfigError } from '../errors.js';
import { suggestion, typeName } from './field-errors.js';
import type { DeepPartial } from './merge.js';
import { CLUSTER_CONFIGURATION_SCHEMA, INIT_CONFIGURATION_SCHEMA, type Schema } from './schema.js';
import { validateKubeProxyConfiguration } from './componentconfig/kube-proxy.js';
import { validateKubeletConfiguration } from './componentconfig/kubelet.js';
import type { ComponentConfigDoc } from './componentconfig/strict.js';
import { KUBEADM_API_VERSION, type ClusterConfiguration, type ComponentConfigs, type InitConfiguration } from './types.js';

export interface LoadedConfig {
  file: string;
  init?: DeepPartial<InitConfiguration>;
  cluster?: DeepPartial<ClusterConfiguration>;
  /** KubeletConfiguration / KubeProxyConfiguration documents, strictly checked, not defaulted. */
  componentConfigs: ComponentConfigs;
  /** Documents that were accepted but ignored, for the caller to print. */
  warnings: string[];
}

const KUBEADM_GROUP = 'kubeadm.k8s.io';

/** Component configs kubeadm accepts next to its own documents: their API group and where they go. */
const COMPONENT_CONFIGS: Readonly<
  Record<string, { group: string; key: keyof ComponentConfigs; validate: (doc: unknown, file: string) => ComponentConfigDoc }>
> = {
  KubeletConfiguration: { group: 'kubelet.config.k8s.io', key: 'kubelet', validate: validateKubeletConfiguration },
  KubeProxyConfiguration: { group: 'kubeproxy.config.k8s.io', key: 'kubeProxy', validate: validateKubeProxyConfiguration },
};
/** kubeadm kinds that belong to other commands; `init` skips them as kubeadm does. */
const OTHER_KUBEADM_KINDS: readonly string[] = ['JoinConfiguration', 'ResetConfiguration', 'UpgradeConfiguration'];

const READ_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory, not a file',
};

/**
 * `value` checked against `schema`; returns it with nulls dropped (YAML `field:` with no value
 * means "not set", as in Go). Throws on the first unknown field or wrong type.
 */
export function decode(value: unknown, schema: Schema, path: string, file: string, kind: string): unknown {
  const wrong = (expected: string): never => {
    throw new ConfigError(`must be ${expected}, not ${typeName(value)}`, { file, field: path });
  };
  switch (schema.type) {
    case 'string':
      return typeof value === 'string' ? value : wrong('a string');
    case 'int':
      return typeof value === 'number' && Number.isInteger(value) ? value : wrong('an integer');
    case 'bool':
      return typeof value === 'boolean' ? value : wrong('true or false');
    case 'list':
      if (!Array.isArray(value)) return wrong('a list');
      return value.map((item, i) => decode(item, schema.of, `${path}[${i}]`, file, kind));
    case 'map':
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return wrong('a mapping');
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) {
        const field = path ? `${path}.${key}` : key;
        const itemSchema = schema.type === 'map' ? schema.of : schema.fields[key];
        if (!itemSchema) {
          const known = schema.type === 'object' ? Object.keys(schema.fields) : [];
          const guess = suggestion(key, known);
          throw new ConfigError(`unknown field in ${kind}`, {
            file,
            field,
            hint: guess ? `did you mean "${guess}"?` : `check the spelling against the ${KUBEADM_API_VERSION} ${kind} reference`,
          });
        }
        if (item === null || item === undefined) continue;
        out[key] = decode(item, itemSchema, field, file, kind);
      }
      return out;
    }
  }
}

function parseYamlError(err: YAMLError): string {
  const reason = err.message
    .split('\n')[0]!
    .replace(/ at line \d+, column \d+:?$/, '')
    .replace(/:$/, '');
  const pos = err.linePos?.[0];
  return pos ? `${reason} at line ${pos.line}, column ${pos.col}` : reason;
}

/** kubeadm refuses a kind given twice. */
function checkOnce(seen: Map<string, number>, kind: string, index: number, file: string): void {
  const first = seen.get(kind);
  if (first !== undefined) {
    throw new ConfigError(`${kind} appears twice (documents ${first} and ${index + 1})`, { file, field: 'kind', hint: 'merge them into one document' });
  }
  seen.set(kind, index + 1);
}

/** One non-empty document of a config file, with its apiVersion and kind checked to be present. */
export interface ConfigDocument {
  body: Record<string, unknown>;
  apiVersion: string;
  kind: string;
  /** `document 2`, for messages. */
  docName: string;
  /** 0-based position in the file. */
  index: number;
}

/**
 * The documents of a multi-document YAML config file, each a mapping with apiVersion and kind;
 * empty documents are skipped. `expectedKinds` only words the hint of a document without a kind.
 */
export function configDocuments(text: string, file: string, expectedKinds = 'InitConfiguration" or "kind: ClusterConfiguration'): ConfigDocument[] {
  const out: ConfigDocument[] = [];
  const docs = parseAllDocuments(text, { uniqueKeys: true, merge: true });
  if (!Array.isArray(docs)) throw new ConfigError('cannot parse YAML: unexpected document structure', { file });
  docs.forEach((doc, index) => {
    const err = doc.errors[0];
    if (err) throw new ConfigError(`cannot parse YAML: ${parseYamlError(err)}`, { file });
    let body: unknown;
    try {
      body = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      throw new ConfigError(`cannot parse YAML: ${e instanceof Error ? e.message : String(e)}`, { file });
    }
    if (body === null || body === undefined) return; // empty document, e.g. a trailing "---"
    const docName = `document ${index + 1}`;
    if (typeof body !== 'object' || Array.isArray(body)) {
      throw new ConfigError(`${docName} must be a mapping with apiVersion and kind, not ${typeName(body)}`, { file });
    }
    const { apiVersion, kind } = body as Record<string, unknown>;
    if (typeof apiVersion !== 'string' || typeof kind !== 'string' || !apiVersion || !kind) {
      throw new ConfigError(`${docName} has no apiVersion and kind`, {
        file,
        hint: `start it with "apiVersion: ${KUBEADM_API_VERSION}" and "kind: ${expectedKinds}"`,
      });
    }
    out.push({ body: body as Record<string, unknown>, apiVersion, kind, docName, index });
  });
  return out;
}

/** Parses the text of a config file (named `file` in errors). */
export function parseConfig(text: string, file: string): LoadedConfig {
  const result: LoadedConfig = { file, componentConfigs: {}, warnings: [] };
  const seen = new Map<string, number>();
  const docs = configDocuments(text, file);
  const documents = docs.length;
  docs.forEach(({ body, apiVersion, kind, docName, index }) => {
    const group = apiVersion.split('/')[0];
    const component = COMPONENT_CONFIGS[kind];
    if (component?.group === group) {
      checkOnce(seen, kind, index, file);
      result.componentConfigs[component.key] = component.validate(body, file);
      return;
    }
    if (group === KUBEADM_GROUP && apiVersion !== KUBEADM_API_VERSION) {
      throw new ConfigError(`${apiVersion} is not supported`, {
        file,
        field: 'apiVersion',
        hint: `use ${KUBEADM_API_VERSION}; convert the file with "kubeadm config migrate --old-config ${file} --new-config new.yaml"`,
      });
    }
    if (apiVersion !== KUBEADM_API_VERSION) {
      throw new ConfigError(`unknown apiVersion "${apiVersion}" of ${kind} (${docName})`, { file, field: 'apiVersion', hint: `use ${KUBEADM_API_VERSION}` });
    }
    if (OTHER_KUBEADM_KINDS.includes(kind)) {
      result.warnings.push(`${file}: ignoring the ${kind} document (${docName}); init reads InitConfiguration and ClusterConfiguration`);
      return;
    }
    const schema = kind === 'InitConfiguration' ? INIT_CONFIGURATION_SCHEMA : kind === 'ClusterConfiguration' ? CLUSTER_CONFIGURATION_SCHEMA : undefined;
    if (!schema) {
      throw new ConfigError(`unknown kind "${kind}" (${docName})`, { file, field: 'kind', hint: 'use InitConfiguration or ClusterConfiguration' });
    }
    checkOnce(seen, kind, index, file);
    const decoded = decode(body, schema, '', file, kind);
    // decode() checked every field against the schema, which mirrors the types.
    if (kind === 'InitConfiguration') result.init = decoded as DeepPartial<InitConfiguration>;
    else result.cluster = decoded as DeepPartial<ClusterConfiguration>;
  });
  if (documents === 0) {
    throw new ConfigError('has no InitConfiguration or ClusterConfiguration document', { file, hint: 'see "kubestrap config print init-defaults"' });
  }
  return result;
}

/** The text of `--config FILE`, or one line saying why it cannot be read. */
export function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    throw new ConfigError(`cannot read config file: ${READ_ERRORS[code] ?? (e instanceof Error ? e.message : String(e))}`, { file });
  }
}

/** Reads and parses `--config FILE`. */
export function loadConfigFile(file: string): LoadedConfig {
  return parseConfig(readConfigText(file), file);
}
