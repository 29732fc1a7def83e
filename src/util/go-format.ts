/** Go's formatting as kubeadm's output uses it (time layout, apimachinery durations, text/tabwriter), for byte-identical tables. */
import { stringify } from 'yaml';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number): string => String(n).padStart(2, '0');

/** Go's "Jan 02, 2006 15:04 MST" in UTC. */
export function formatExpiry(d: Date): string {
  return `${MONTHS[d.getUTCMonth()]} ${pad2(d.getUTCDate())}, ${d.getUTCFullYear()} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())} UTC`;
}

/** apimachinery's duration.ShortHumanDuration, which kubeadm uses for RESIDUAL TIME. */
export function shortHumanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 24) return `${hours}h`;
  if (hours < 24 * 365) return `${Math.trunc(hours / 24)}d`;
  return `${Math.trunc(hours / 24 / 365)}y`;
}

/** Go's text/tabwriter with kubeadm's settings (minwidth 10, padding 3): tab-terminated cells are padded. */
export function tabwrite(lines: readonly string[], minWidth = 10, padding = 3): string {
  const out: string[] = [];
  // A line without tabs (the blank separator) ends a column block, as in tabwriter.
  let block: string[][] = [];
  const flush = (): void => {
    const widths: number[] = [];
    for (const cells of block) {
      cells.slice(0, -1).forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, Math.max(minWidth, c.length + padding))));
    }
    for (const cells of block) out.push(cells.map((c, i) => (i < cells.length - 1 ? c.padEnd(widths[i]!) : c)).join(''));
    block = [];
  };
  for (const line of lines) {
    if (!line.includes('\t')) {
      flush();
      out.push(line);
    } else block.push(line.split('\t'));
  }
  flush();
  return out.map((l) => `${l}\n`).join('');
}

/**
 * YAML as sigs.k8s.io/yaml writes an API object (kubeadm's printed manifests, marshalled component
 * configs): keys sorted, sequences not indented under their key, no line folding, literal blocks.
 */
export function goYaml(value: unknown): string {
  return stringify(value, { sortMapEntries: true, indentSeq: false, lineWidth: 0, minContentWidth: 0, blockQuote: 'literal', aliasDuplicateObjects: false });
}
