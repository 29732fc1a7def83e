import type { Host } from '../host/host.js';
import type { Printer } from '../output.js';

/** What `--dry-run` shows: every file with its mode; text files (manifests, configs) in full. */
export function printDryRun(host: Host, out: Printer): void {
  out.line('dryrun', `Would write ${host.planned.length} files under ${host.rootfs}:`);
  for (const w of host.planned) {
    out.text(`[dryrun] Would write file ${host.path(w.path)} (mode ${w.mode.toString(8).padStart(4, '0')})`);
    const text = typeof w.content === 'string' ? w.content : undefined;
    if (text !== undefined && /\.(ya?ml|json|service|env)$/.test(w.path)) {
      out.text(text.replace(/^/gm, '\t'));
    }
  }
}
