/** host:port text, as Go's net.JoinHostPort / SplitHostPort treat it: IPv6 literals in brackets. */
import { isIP } from 'node:net';

/** `host:port`, with IPv6 literals bracketed. */
export function joinHostPort(host: string, port: number | string): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Splits `host`, `host:port`, `[v6]` or `[v6]:port`; a bare IPv6 literal has no port. */
export function splitHostPort(text: string): { host: string; port?: string } {
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2] };
  if (isIP(text) === 6) return { host: text };
  const colon = text.lastIndexOf(':');
  if (colon < 0) return { host: text };
  return { host: text.slice(0, colon), port: text.slice(colon + 1) };
}
