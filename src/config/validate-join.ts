/**
 * kubeadm's ValidateJoinConfiguration (cmd/kubeadm/app/apis/kubeadm/validation): discovery (token
 * or file, not both; an endpoint, CA pins or the explicit unsafe skip), the TLS bootstrap token,
 * the node registration, the CA path and the timeouts. The first problem is one ConfigError.
 */
import { existsSync } from 'node:fs';
import { UPLOAD_CERTS_COMMAND } from '../constants.js';
import { splitHostPort } from './net.js';
import type { JoinConfiguration, Timeouts } from './types.js';
import { BOOTSTRAP_TOKEN_RE, checkCertificateKey, checkDuration, thrower, validateAPIEndpoint, validateNodeRegistration, type Check } from './validate.js';

/** pubkeypin's accepted format: `sha256:` and 64 hex digits (kubeadm also takes the bare hex). */
const CA_CERT_HASH_RE = /^(sha256:)?[0-9a-f]{64}$/i;

function checkToken(token: string, field: string, fail: Check): void {
  if (!BOOTSTRAP_TOKEN_RE.test(token)) {
    fail(
      field,
      `the bootstrap token "${token}" was not of the form "[a-z0-9]{6}.[a-z0-9]{16}"`,
      'pass --token (from "kubestrap token create" on the control plane)',
    );
  }
}

function checkDiscovery(cfg: JoinConfiguration, fail: Check): void {
  const d = cfg.discovery;
  if (!d.bootstrapToken && !d.file) fail('discovery', 'bootstrapToken or file must be set', 'pass <endpoint> with --token, or --discovery-file');
  if (d.bootstrapToken && d.file) fail('discovery', 'bootstrapToken and file cannot both be set', 'use token discovery or --discovery-file, not both');
  const bt = d.bootstrapToken;
  if (bt) {
    if (!bt.apiServerEndpoint) fail('discovery.bootstrapToken.apiServerEndpoint', 'APIServerEndpoint is not set', 'pass the control plane as <host>:<port>');
    if (bt.caCertHashes.length === 0 && !bt.unsafeSkipCAVerification) {
      fail(
        'discovery.bootstrapToken.caCertHashes',
        'using token-based discovery without caCertHashes can be unsafe',
        'pass --discovery-token-ca-cert-hash sha256:<hash> (printed by init), or --discovery-token-unsafe-skip-ca-verification',
      );
    }
    bt.caCertHashes.forEach((h, i) => {
      if (!CA_CERT_HASH_RE.test(h)) fail(`discovery.bootstrapToken.caCertHashes[${i}]`, `"${h}" is not a CA certificate hash`, 'use sha256:<64 hex digits>');
    });
    checkToken(bt.token, 'discovery.bootstrapToken.token', fail);
    const { host, port } = splitHostPort(bt.apiServerEndpoint);
    if (!host || !port || !/^\d+$/.test(port)) {
      fail('discovery.bootstrapToken.apiServerEndpoint', `"${bt.apiServerEndpoint}" is not <host>:<port>`, 'e.g. 10.0.0.1:6443');
    }
    checkToken(d.tlsBootstrapToken, 'discovery.tlsBootstrapToken', fail);
  }
  if (d.file) {
    const p = d.file.kubeConfigPath;
    let scheme = '';
    try {
      scheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(p) ? new URL(p).protocol : '';
    } catch {
      fail('discovery.file.kubeConfigPath', `"${p}" is not a valid HTTPS URL or a file on disk`);
    }
    if (scheme === '' && !existsSync(p)) fail('discovery.file.kubeConfigPath', `"${p}" is not a valid HTTPS URL or a file on disk`);
    if (scheme !== '' && scheme !== 'https:') fail('discovery.file.kubeConfigPath', `"${p}": if a URL is used, the scheme must be https`);
    if (d.tlsBootstrapToken) checkToken(d.tlsBootstrapToken, 'discovery.tlsBootstrapToken', fail);
  }
}

/** Without --config, a field is named by the flag that set it. */
const FLAG_OF_FIELD: Readonly<Record<string, string>> = {
  'discovery.bootstrapToken.caCertHashes': '--discovery-token-ca-cert-hash',
  'discovery.bootstrapToken.token': '--discovery-token',
  'discovery.bootstrapToken.apiServerEndpoint': '<endpoint>',
  'discovery.tlsBootstrapToken': '--tls-bootstrap-token',
  'discovery.file.kubeConfigPath': '--discovery-file',
  'nodeRegistration.name': '--node-name',
  'nodeRegistration.criSocket': '--cri-socket',
  'nodeRegistration.ignorePreflightErrors': '--ignore-preflight-errors',
  'controlPlane.localAPIEndpoint.advertiseAddress': '--apiserver-advertise-address',
  'controlPlane.localAPIEndpoint.bindPort': '--apiserver-bind-port',
  'controlPlane.certificateKey': '--certificate-key',
};

function flagOf(field: string): string {
  const hit = Object.keys(FLAG_OF_FIELD).find((f) => field === f || field.startsWith(`${f}[`));
  return hit ? FLAG_OF_FIELD[hit]! : field;
}

/** Throws the first problem of a defaulted JoinConfiguration (`file` names --config, if any). */
export function validateJoinConfiguration(cfg: JoinConfiguration, file: string | undefined): void {
  const fail = thrower((field) => (file ? { file, field } : { field: flagOf(field) }));
  checkDiscovery(cfg, fail);
  validateNodeRegistration(cfg.nodeRegistration, fail);
  if (cfg.controlPlane) {
    validateAPIEndpoint(cfg.controlPlane.localAPIEndpoint, 'controlPlane.localAPIEndpoint', fail);
    checkCertificateKey(
      cfg.controlPlane.certificateKey,
      'controlPlane.certificateKey',
      fail,
      `use the key \`${UPLOAD_CERTS_COMMAND}\` printed on a control-plane node`,
    );
  }
  if (!cfg.caCertPath.startsWith('/') || !cfg.caCertPath.endsWith('.crt'))
    fail('caCertPath', `"${cfg.caCertPath}": the ca certificate path must be an absolute path`);
  for (const [key, value] of Object.entries(cfg.timeouts) as [keyof Timeouts, string][]) checkDuration(value, `timeouts.${key}`, fail);
}
