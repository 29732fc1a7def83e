/** The address a node reports when none is configured: its first non-internal IPv4 (else loopback). */
import { networkInterfaces } from 'node:os';

export function defaultNodeIP(): string {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}
