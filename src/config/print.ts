/**
 * `config print init-defaults`: kubeadm's default documents as YAML, with kubeadm's fixed
 * placeholders (node "node", address 1.2.3.4, token abcdef.0123456789abcdef) so the output does
 * not depend on the machine and is accepted by `--config` as-is.
 */
import { stringify } from 'yaml';
import { ConfigError } from '../errors.js';
import { kubeProxyComponentConfig } from './componentconfig/kube-proxy.js';
import { kubeletComponentConfig } from './componentconfig/kubelet.js';
import { defaultBootstrapToken } from './defaults.js';
import { defaultJoinConfiguration, EXAMPLE_JOIN_ENDPOINT } from './join.js';
import { deriveConfig, documentsFrom } from './resolve.js';
import type { ResolvedConfig } from './types.js';

export const EXAMPLE_TOKEN = 'abcdef.0123456789abcdef';
export const EXAMPLE_NODE_NAME = 'node';
export const EXAMPLE_ADVERTISE_ADDRESS = '1.2.3.4';

/**
 * Drops what Go's `omitempty` would: empty strings and lists, false, and empty maps (except the
 * component structs kubeadm always prints as `{}`). `null` stays: `taints: null` means "default taint".
 */
function omitEmpty(value: unknown, keepEmpty: ReadonlySet<string>, key = ''): unknown {
  if (Array.isArray(value)) return value.length ? value.map((v) => omitEmpty(v, keepEmpty)) : undefined;
  if (value === null) return null;
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const kept = omitEmpty(v, keepEmpty, k);
      if (kept !== undefined) out[k] = kept;
    }
    return Object.keys(out).length || keepEmpty.has(key) ? out : undefined;
  }
  if (value === '' || value === false) return undefined;
  return value;
}

const ALWAYS_PRINTED = new Set(['apiServer', 'controllerManager', 'scheduler', 'dns', 'proxy']);

/**
 * `--component-configs`: the kinds kubeadm prints after its own documents. A systemd host is
 * assumed (kubeadm's cgroupDriver), so the output does not depend on the machine either.
 */
const COMPONENT_CONFIG_DEFAULTS: Readonly<Record<string, (c: ResolvedConfig) => Record<string, unknown>>> = {
  KubeletConfiguration: (c) => kubeletComponentConfig(c, { systemd: true, systemdResolved: false }),
  KubeProxyConfiguration: kubeProxyComponentConfig,
};

export function initDefaultsYaml(componentConfigs: readonly string[] = []): string {
  const { init, cluster } = documentsFrom(undefined);
  init.bootstrapTokens = [defaultBootstrapToken(EXAMPLE_TOKEN)];
  init.nodeRegistration.name = EXAMPLE_NODE_NAME;
  init.localAPIEndpoint.advertiseAddress = EXAMPLE_ADVERTISE_ADDRESS;
  const components = componentConfigs.map((kind) => {
    const defaults = COMPONENT_CONFIG_DEFAULTS[kind];
    if (!defaults) {
      const known = Object.keys(COMPONENT_CONFIG_DEFAULTS).sort().join(' ');
      throw new ConfigError(`needs to contain some of [${known}], not ${JSON.stringify(kind)}`, { field: '--component-configs' });
    }
    return defaults(deriveConfig(init, cluster));
  });
  // Go marshals struct fields in sorted order (through JSON); do the same so diffs against kubeadm are small.
  const yaml = (doc: unknown): string => stringify(doc, { sortMapEntries: true, indentSeq: false });
  return [...[init, cluster].map((doc) => omitEmpty(doc, ALWAYS_PRINTED)), ...components].map(yaml).join('---\n');
}

/** `config print join-defaults`: kubeadm's JoinConfiguration defaults with its placeholders (usable with `join --config`). */
export function joinDefaultsYaml(): string {
  const join = defaultJoinConfiguration();
  join.nodeRegistration.name = EXAMPLE_NODE_NAME;
  join.discovery = {
    bootstrapToken: { apiServerEndpoint: EXAMPLE_JOIN_ENDPOINT, token: EXAMPLE_TOKEN, caCertHashes: [], unsafeSkipCAVerification: true },
    tlsBootstrapToken: EXAMPLE_TOKEN,
  };
  return stringify(omitEmpty(join, new Set()), { sortMapEntries: true, indentSeq: false });
}
