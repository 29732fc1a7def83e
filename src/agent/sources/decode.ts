/**
 * Bytes → one decoded document, shared by the file and HTTP sources. JSON goes through JSON.parse
 * (fast for the 1000-manifest relist); anything else through `yaml`. Unlike the kubelet, a second
 * YAML document is an error instead of being silently dropped.
 */
import { isScalar, parseAllDocuments } from 'yaml';
import { ManifestError } from '../../errors.js';

/** The kubelet's maxConfigLength. */
export const MAX_MANIFEST_BYTES = 10 * 1024 * 1024;

export function decodeDocument(data: Buffer | string, origin: string): unknown {
  const text = typeof data === 'string' ? data : data.toString('utf8');
  if (Buffer.byteLength(text) > MAX_MANIFEST_BYTES) {
    throw new ManifestError(`is larger than 10 MiB`, { file: origin, hint: 'a static pod manifest is a single small Pod' });
  }
  const trimmed = text.trimStart();
  if (trimmed === '') throw new ManifestError('is empty', { file: origin, hint: 'write one kind: Pod manifest' });
  if (trimmed.startsWith('{')) {
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new ManifestError(`is not valid JSON: ${(err as Error).message}`, { file: origin });
    }
  }
  // A trailing `---` yields an empty document; only documents with content (or errors) count.
  const docs = Array.from(parseAllDocuments(text)).filter(
    (d) => d.errors.length > 0 || !(d.contents === null || (isScalar(d.contents) && d.contents.value === null)),
  );
  if (docs.length === 0) throw new ManifestError('is empty', { file: origin, hint: 'write one kind: Pod manifest' });
  if (docs.length > 1) throw new ManifestError(`holds ${docs.length} YAML documents`, { file: origin, hint: 'put one Pod per file' });
  const doc = docs[0]!;
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new ManifestError(`is not valid YAML: ${e.message.split('\n')[0]!.replace(/:$/, '')}`, { file: origin });
  }
  return doc.toJS({ maxAliasCount: 100 }) as unknown;
}
