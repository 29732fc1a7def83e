/**
 * IP and CIDR arithmetic for config validation and derived values (service IPs, advertise address).
 * Addresses are handled as bigint so IPv4 and IPv6 share one code path.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { joinHostPort, splitHostPort } from '../net/address.js';

/** Re-exported: config validation and resolution split and join endpoints (src/net/address.ts). */
export { joinHostPort, splitHostPort };

export type IPFamily = 4 | 6;

export interface ParsedIP {
  family: IPFamily;
  value: bigint;
}

export interface ParsedCIDR {
  family: IPFamily;
  /** The network address (host bits cleared). */
  network: bigint;
  prefix: number;
}

const BITS: Readonly<Record<IPFamily, number>> = { 4: 32, 6: 128 };

export function parseIP(text: string): ParsedIP | undefined {
  const family = isIP(text);
  if (family === 4) {
    const value = text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
    return { family, value };
  }
  if (family === 6) return { family, value: ipv6ToBigInt(text) };
  return undefined;
}

function ipv6ToBigInt(text: string): bigint {
  let groups = text;
  // An embedded IPv4 tail ("::ffff:1.2.3.4") is two 16-bit groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(groups);
  if (v4) {
    const n = parseIP(v4[1]!)!.value;
    groups = `${groups.slice(0, v4.index)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = groups.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...zeros, ...t].reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** 127.0.0.0/8 or ::1 (what kube-apiserver calls "the loopback range"). */
export function isLoopbackIP(text: string): boolean {
  const ip = parseIP(text);
  if (!ip) return false;
  return ip.family === 4 ? ip.value >> 24n === 127n : ip.value === 1n;
}

export function formatIP(ip: ParsedIP): string {
  if (ip.family === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => String((ip.value >> shift) & 0xffn)).join('.');
  }
  const groups = Array.from({ length: 8 }, (_, i) => Number((ip.value >> BigInt(112 - 16 * i)) & 0xffffn));
  // RFC 5952: compress the longest run (≥2) of zero groups.
  let best = { start: -1, len: 0 };
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len && j - i >= 2) best = { start: i, len: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.start < 0) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.len).join(':')}`;
}

export function parseCIDR(text: string): ParsedCIDR | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIP(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  const bits = BITS[ip.family];
  if (prefix > bits) return undefined;
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  return { family: ip.family, network: ip.value & ~hostMask, prefix };
}

/** Number of host bits in a CIDR (32 - prefix for IPv4). */
export function hostBits(cidr: ParsedCIDR): number {
  return BITS[cidr.family] - cidr.prefix;
}

/** The n-th address of a CIDR (n = 1 is the first after the network address), as text. */
export function nthIP(cidr: ParsedCIDR, n: number): string | undefined {
  const size = 1n << BigInt(hostBits(cidr));
  if (BigInt(n) >= size) return undefined;
  return formatIP({ family: cidr.family, value: cidr.network + BigInt(n) });
}

/**
 * The IPv4 address of the interface holding the default route, like kubeadm's
 * ChooseBindAddress; 127.0.0.1 when there is none (offline test machines, containers without routes).
 */
export function defaultRouteIPv4(routeFile = '/proc/net/route'): string {
  let routes: string;
  try {
    routes = readFileSync(routeFile, 'utf8');
  } catch {
    return '127.0.0.1';
  }
  const interfaces = networkInterfaces();
  for (const line of routes.split('\n').slice(1)) {
    const [iface, destination, , , , , , mask] = line.trim().split(/\s+/);
    if (!iface || destination !== '00000000' || mask !== '00000000') continue;
    const addr = interfaces[iface]?.find((a) => a.family === 'IPv4' && !a.internal);
    if (addr) return addr.address;
  }
  return '127.0.0.1';
}
