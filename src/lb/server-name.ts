/**
 * Whether an API server's certificate is valid for a name (verified against the cluster CA): a
 * node that joins behind the node-local balancer dials https://127.0.0.1:7443, and its kubelet
 * keeps only the server and CA of the bootstrap kubeconfig, so the certificate must name
 * 127.0.0.1. Checked before join writes anything.
 */
import tls from 'node:tls';
import type { Upstream } from './balancer.js';

export type NameCheck = { ok: true } | { ok: false; reason: string };

export function certificateNames(upstream: Upstream, caPem: string, name: string, timeoutMs = 10_000): Promise<NameCheck> {
  return new Promise((resolve) => {
    let verdict: NameCheck | undefined;
    const socket = tls.connect({
      host: upstream.host,
      port: upstream.port,
      ca: caPem,
      // the CA chain is still verified; only the name compared is ours
      checkServerIdentity: (_host, cert) => {
        const err = tls.checkServerIdentity(name, cert);
        if (err) verdict = { ok: false, reason: `its certificate names ${cert.subjectaltname ?? 'nothing'}, not ${name}` };
        return err;
      },
    });
    const done = (v: NameCheck): void => {
      socket.destroy();
      resolve(v);
    };
    socket.setTimeout(timeoutMs, () => done({ ok: false, reason: `no TLS answer within ${timeoutMs / 1000}s` }));
    socket.once('secureConnect', () => done({ ok: true }));
    socket.once('error', (err: Error) => done(verdict ?? { ok: false, reason: err.message }));
  });
}
