/**
 * Subject alternative names, computed as kubeadm's GetAPIServerAltNames / GetEtcdAltNames do: DNS names
 * deduplicated and sorted, IPs deduplicated in order, extra SANs sorted into IP or DNS by what they
 * parse as (anything else is dropped with a warning, as kubeadm does).
 */
import { isIP } from 'node:net';
import type { ResolvedConfig } from '../config/types.js';
import { splitHostPort } from '../net/address.js';

export interface AltNames {
  dns: string[];
  ips: string[];
}

export interface ComputedAltNames extends AltNames {
  /** Extra SANs that are neither an IP nor a DNS name: reported, not used. */
  dropped: string[];
}

const DNS_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS_SUBDOMAIN = new RegExp(`^${DNS_LABEL}(\\.${DNS_LABEL})*$`);
const WILDCARD_SUBDOMAIN = new RegExp(`^\\*\\.${DNS_LABEL}(\\.${DNS_LABEL})*$`);

/** One spelling per address (IPv6 compressed, lower case) so SANs compare by value. */
export function canonicalIP(ip: string): string {
  return isIP(ip) === 6 ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

export function isDnsName(name: string): boolean {
  return name.length <= 253 && (DNS_SUBDOMAIN.test(name) || WILDCARD_SUBDOMAIN.test(name));
}

/** `host[:port]` or `[v6]:port` → host. */
export function endpointHost(endpoint: string): string {
  return splitHostPort(endpoint).host;
}

function build(dns: string[], ips: string[], extra: readonly string[]): ComputedAltNames {
  const dropped: string[] = [];
  const allDns = [...dns];
  const allIps = [...ips];
  for (const san of extra) {
    if (isIP(san)) allIps.push(san);
    else if (isDnsName(san)) allDns.push(san);
    else dropped.push(san);
  }
  const seen = new Set<string>();
  const uniqueIps: string[] = [];
  for (const ip of allIps.map(canonicalIP)) {
    if (!seen.has(ip)) {
      seen.add(ip);
      uniqueIps.push(ip);
    }
  }
  return { dns: [...new Set(allDns)].sort(), ips: uniqueIps, dropped };
}

export function apiServerAltNames(cfg: ResolvedConfig): ComputedAltNames {
  const dns = [cfg.nodeName, 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', `kubernetes.default.svc.${cfg.cluster.networking.dnsDomain}`];
  const extra: string[] = [];
  if (cfg.cluster.controlPlaneEndpoint) extra.push(endpointHost(cfg.cluster.controlPlaneEndpoint));
  extra.push(...cfg.cluster.apiServer.certSANs);
  return build(dns, [cfg.kubernetesServiceIP, cfg.advertiseAddress], extra);
}

function etcdAltNames(cfg: ResolvedConfig, extra: readonly string[]): ComputedAltNames {
  return build([cfg.nodeName, 'localhost'], [cfg.advertiseAddress, '127.0.0.1', '::1'], extra);
}

export function etcdServerAltNames(cfg: ResolvedConfig): ComputedAltNames {
  return etcdAltNames(cfg, cfg.cluster.etcd.local?.serverCertSANs ?? []);
}

export function etcdPeerAltNames(cfg: ResolvedConfig): ComputedAltNames {
  return etcdAltNames(cfg, cfg.cluster.etcd.local?.peerCertSANs ?? []);
}

/** The names `have` lacks from `want` (IPs compared by value). */
export function missingAltNames(want: AltNames, have: AltNames): string[] {
  const dns = new Set(have.dns.map((d) => d.toLowerCase()));
  const ips = new Set(have.ips.map(canonicalIP));
  return [
    ...want.dns.filter((d) => !dns.has(d.toLowerCase())).map((d) => `DNS:${d}`),
    ...want.ips.filter((ip) => !ips.has(canonicalIP(ip))).map((ip) => `IP:${ip}`),
  ];
}
