/**
 * The HTTP source (`staticPodURL` / `--manifest-url`), as the kubelet's http.go: GET every
 * httpCheckFrequency with the configured headers and a 10 s timeout; the body is one Pod or a
 * PodList (JSON or YAML), capped at 10 MiB; a byte-identical body changes nothing. On a network
 * error, a non-200 answer or an unparsable body the pods are kept and the error is reported. One
 * bad item of a PodList keeps that item's last good pod and does not disturb the others. A 200 with
 * an empty body is an empty list (kubelet behaviour: it removes every HTTP pod).
 */
import { KubestrapError, ManifestError, messageOf } from '../../errors.js';
import { ANNOTATION_SEEN } from '../annotations.js';
import { podKey, resolveStaticPod, type PodAdmission } from '../identity.js';
import type { Logger } from '../log.js';
import type { SourceError, StaticPod } from '../pod-types.js';
import { decodeDocument, MAX_MANIFEST_BYTES } from '../../pod/decode.js';
import type { PodSource, SnapshotListener } from './types.js';

export interface HttpSourceOptions {
  url: string;
  /** staticPodURLHeader: every value of a key is sent (Header.Add). */
  headers: Record<string, string[]>;
  nodeName: string;
  /** Poll period (kubelet httpCheckFrequency, default 20 s). */
  checkFrequencyMs: number;
  timeoutMs?: number;
  logger: Logger;
  /** The runtime's veto on pods it can never run (Runtime.refuses). */
  admit?: PodAdmission;
}

const errorText = (err: unknown): string => (err instanceof KubestrapError ? err.oneLine() : messageOf(err));

export class HttpSource implements PodSource {
  readonly name = 'http' as const;
  private readonly log: Logger;
  private listener: SnapshotListener | undefined;
  private timer: NodeJS.Timeout | undefined;
  private abort = new AbortController();
  private lastBody: Buffer | undefined;
  /** Current pods by manifest name (PodList items are kept one by one). */
  private pods = new Map<string, StaticPod>();
  private itemErrors: SourceError[] = [];
  private fetchError: SourceError | undefined;
  private failures = 0;
  private readonly seen = new Map<string, Date>();
  private polling: Promise<void> | undefined;

  constructor(private readonly options: HttpSourceOptions) {
    this.log = options.logger.child({ component: 'http-source', url: options.url });
  }

  async start(listener: SnapshotListener): Promise<void> {
    this.listener = listener;
    await this.poll(true);
    const loop = (): void => {
      this.timer = setTimeout(() => {
        this.polling = this.poll(false).finally(loop);
      }, this.options.checkFrequencyMs);
      this.timer.unref();
    };
    loop();
  }

  async stop(): Promise<void> {
    this.listener = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort();
    await this.polling?.catch(() => undefined);
  }

  /** One GET; emits a snapshot when the outcome differs from the last one (or on the first poll). */
  async poll(initial = false): Promise<void> {
    const observedAt = Date.now();
    let body: Buffer;
    try {
      body = await this.fetchBody();
    } catch (err) {
      if (this.abort.signal.aborted) return;
      this.failures++;
      const message = `${this.options.url}: ${errorText(err)}`;
      const changed = this.fetchError?.message !== message;
      // As the kubelet: the first failures are logged, a long outage does not flood the log.
      if (changed || this.failures <= 3) this.log.warn('cannot fetch static pods; keeping the current pods', { error: message, failures: this.failures });
      if (changed) this.fetchError = { source: 'http', origin: this.options.url, message, since: new Date() };
      if (changed || initial) this.emit(observedAt);
      return;
    }
    const recovered = this.fetchError !== undefined;
    this.fetchError = undefined;
    this.failures = 0;
    if (this.lastBody?.equals(body)) {
      if (recovered || initial) this.emit(observedAt);
      return;
    }
    this.lastBody = body;
    this.apply(body);
    this.emit(observedAt);
  }

  private async fetchBody(): Promise<Buffer> {
    const headers = new Headers();
    for (const [key, values] of Object.entries(this.options.headers)) for (const v of values) headers.append(key, v);
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.options.timeoutMs ?? 10_000)]);
    const res = await fetch(this.options.url, { headers, signal, redirect: 'follow' });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`HTTP ${res.status} ${res.statusText}`.trim());
    }
    const length = Number(res.headers.get('content-length') ?? '0');
    if (length > MAX_MANIFEST_BYTES) {
      await res.body?.cancel();
      throw new Error(`body is larger than 10 MiB (${length} bytes)`);
    }
    const body = Buffer.from(await res.arrayBuffer());
    if (body.length > MAX_MANIFEST_BYTES) throw new Error(`body is larger than 10 MiB (${body.length} bytes)`);
    return body;
  }

  /** Decodes a body into pods; bad items keep their last good pod; an undecodable body keeps all. */
  private apply(body: Buffer): void {
    const url = this.options.url;
    let items: unknown[];
    try {
      if (body.toString('utf8').trim() === '') {
        this.log.warn('empty body: removing every pod from this URL (kubelet behaviour)');
        items = [];
      } else {
        const doc = decodeDocument(body, url);
        const kind = doc !== null && typeof doc === 'object' ? (doc as { kind?: unknown }).kind : undefined;
        if (kind === 'PodList') {
          const list = (doc as { items?: unknown }).items ?? [];
          if (!Array.isArray(list)) throw new ManifestError('must be a list', { file: url, field: 'items' });
          items = list;
        } else {
          items = [doc];
        }
      }
    } catch (err) {
      this.itemErrors = [{ source: 'http', origin: url, message: errorText(err), since: new Date() }];
      this.log.error('static pods refused; keeping the current pods', { error: this.itemErrors[0]!.message });
      return;
    }
    const next = new Map<string, StaticPod>();
    const errors: SourceError[] = [];
    const byKey = new Map<string, number>();
    items.forEach((item, i) => {
      const where = items.length > 1 || (item as { kind?: unknown })?.kind === undefined ? `${url} items[${i}]` : url;
      const rawName = (item as { metadata?: { name?: unknown } })?.metadata?.name;
      const name = typeof rawName === 'string' ? rawName : `#${i}`;
      try {
        const pod = resolveStaticPod({
          manifest: item,
          source: 'http',
          origin: url,
          nodeName: this.options.nodeName,
          seen: new Date(),
          admit: this.options.admit,
        });
        const seen = this.seen.get(pod.uid);
        if (seen) pod.pod.metadata!.annotations![ANNOTATION_SEEN] = seen.toISOString();
        else this.seen.set(pod.uid, new Date(pod.pod.metadata!.annotations![ANNOTATION_SEEN]!));
        const first = byKey.get(podKey(pod));
        if (first !== undefined) {
          errors.push({
            source: 'http',
            origin: url,
            message: `${where}: pod "${podKey(pod)}" is also declared by items[${first}]; this item is ignored`,
            since: new Date(),
          });
          return;
        }
        byKey.set(podKey(pod), i);
        next.set(name, pod);
      } catch (err) {
        const kept = this.pods.get(name);
        if (kept) next.set(name, kept);
        errors.push({
          source: 'http',
          origin: url,
          message: errorText(err).replace(url, where),
          keptPod: kept ? { namespace: kept.namespace, name: kept.name } : undefined,
          since: new Date(),
        });
      }
    });
    for (const e of errors)
      this.log.error('static pod refused', { error: e.message, keptPod: e.keptPod ? `${e.keptPod.namespace}/${e.keptPod.name}` : undefined });
    this.pods = next;
    this.itemErrors = errors;
    for (const uid of this.seen.keys()) if (![...next.values()].some((p) => p.uid === uid)) this.seen.delete(uid);
  }

  private emit(observedAt: number): void {
    const errors = this.fetchError ? [this.fetchError, ...this.itemErrors] : [...this.itemErrors];
    this.listener?.({ source: 'http', pods: [...this.pods.values()], errors, observedAt });
  }
}
