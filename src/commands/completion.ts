/**
 * `kubestrap completion bash|zsh|fish`: shell completion for every command, subcommand and flag,
 * generated from the commander tree (so it cannot drift from the CLI). Static: command words and
 * flag names; `certs renew` also completes the certificate names.
 * Use: `source <(kubestrap completion bash)`, `kubestrap completion zsh > "${fpath[1]}/_kubestrap"`,
 * `kubestrap completion fish | source`.
 */
import type { Command } from 'commander';
import { ConfigError } from '../errors.js';
import { renewTargets } from '../pki/targets.js';

export interface CompletionNode {
  /** Command words after `kubestrap` (empty for the root). */
  path: string[];
  subcommands: string[];
  flags: string[];
  /** Words for a positional argument. */
  values: string[];
}

/** Positional values per command path (joined by spaces). */
const VALUES: Readonly<Record<string, () => string[]>> = {
  'certs renew': () => [...renewTargets(false).map((t) => t.name), 'all'],
  completion: () => ['bash', 'zsh', 'fish'],
};

export function completionTree(program: Command): CompletionNode[] {
  const out: CompletionNode[] = [];
  const walk = (cmd: Command, path: string[]): void => {
    const flags = cmd.options.flatMap((o) => [o.long, o.short].filter((f): f is string => !!f));
    out.push({ path, subcommands: cmd.commands.map((c) => c.name()), flags: [...flags, '--help'], values: VALUES[path.join(' ')]?.() ?? [] });
    for (const c of cmd.commands) walk(c, [...path, c.name()]);
  };
  walk(program, []);
  return out;
}

const key = (path: string[]): string => path.join('_').replace(/[^A-Za-z0-9_]/g, '_') || 'root';

function bash(nodes: CompletionNode[]): string {
  const cases = nodes
    .map((n) => `    ${JSON.stringify(key(n.path))}) words="${[...n.subcommands, ...n.values, ...n.flags].join(' ')}"; subs="${n.subcommands.join(' ')}" ;;`)
    .join('\n');
  return `# bash completion for kubestrap (kubestrap completion bash)
_kubestrap() {
  local cur path="" words subs w i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ "$w" == -* ]] && continue
    _kubestrap_node "\${path:-root}"
    if [[ " $subs " == *" $w "* ]]; then
      if [[ -z "$path" ]]; then path="$w"; else path="\${path}_$w"; fi
      path="\${path//[^A-Za-z0-9_]/_}"
    fi
  done
  _kubestrap_node "\${path:-root}"
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
_kubestrap_node() {
  words=""; subs=""
  case "$1" in
${cases}
  esac
}
complete -o default -F _kubestrap kubestrap
`;
}

function zsh(nodes: CompletionNode[]): string {
  return `#compdef kubestrap
# zsh completion for kubestrap (kubestrap completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bash(nodes)}`;
}

function fish(nodes: CompletionNode[]): string {
  const lines = ['# fish completion for kubestrap (kubestrap completion fish)', 'complete -c kubestrap -f'];
  for (const n of nodes) {
    const cond = n.path.length === 0 ? '__fish_use_subcommand' : `__fish_seen_subcommand_from ${n.path[n.path.length - 1]}`;
    for (const s of [...n.subcommands, ...n.values]) lines.push(`complete -c kubestrap -n '${cond}' -a '${s}'`);
    for (const f of n.flags.filter((x) => x.startsWith('--'))) lines.push(`complete -c kubestrap -n '${cond}' -l '${f.slice(2)}'`);
  }
  return `${lines.join('\n')}\n`;
}

const SHELLS: Readonly<Record<string, (nodes: CompletionNode[]) => string>> = { bash, zsh, fish };

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('Output shell completion code for the specified shell (bash, zsh or fish)')
    .argument('<shell>', 'bash, zsh or fish')
    .addHelpText('after', '\nbash: source <(kubestrap completion bash)\nzsh:  source <(kubestrap completion zsh)\nfish: kubestrap completion fish | source\n')
    .action((shell: string) => {
      const render = SHELLS[shell];
      if (!render) throw new ConfigError(`unsupported shell type "${shell}"`, { hint: `use one of ${Object.keys(SHELLS).join(', ')}` });
      process.stdout.write(render(completionTree(program)));
    });
}
