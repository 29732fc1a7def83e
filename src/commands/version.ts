/**
 * `kubestrap version [-o json|yaml|short]`: kubeadm's command and shapes (a `clientVersion` of
 * apimachinery's version.Info; the default line is Go's %#v of it). There is no Go toolchain:
 * goVersion carries the Node.js version and compiler says node.
 */
import { arch, platform } from 'node:process';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { ConfigError } from '../errors.js';
import { readPackageFile } from '../util/package-files.js';

/** apimachinery version.Info, in its field order. */
export interface VersionInfo {
  major: string;
  minor: string;
  gitVersion: string;
  gitCommit: string;
  gitTreeState: string;
  buildDate: string;
  goVersion: string;
  compiler: string;
  platform: string;
}

const GO_ARCH: Readonly<Record<string, string>> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };

/** The package version (package.json in the package, or embedded in the single executable). */
function packageVersion(): string {
  try {
    const v = JSON.parse(readPackageFile('package.json').toString('utf8')) as { name?: string; version?: string };
    if (v.name === 'kubestrap' && v.version) return v.version;
  } catch {
    // a broken install: report 0.0.0 rather than fail `version`
  }
  return '0.0.0';
}

export function versionInfo(version = packageVersion()): VersionInfo {
  const [major = '0', minor = '0'] = version.split('.');
  return {
    major,
    minor,
    gitVersion: `v${version}`,
    gitCommit: '',
    gitTreeState: '',
    buildDate: '',
    goVersion: process.version,
    compiler: 'node',
    platform: `${platform}/${GO_ARCH[arch] ?? arch}`,
  };
}

/** Go's %#v of *version.Info. */
export function goSyntax(v: VersionInfo): string {
  const f = (k: string, val: string): string => `${k}:${JSON.stringify(val)}`;
  return `&version.Info{${[
    f('Major', v.major),
    f('Minor', v.minor),
    f('EmulationMajor', ''),
    f('EmulationMinor', ''),
    f('MinCompatibilityMajor', ''),
    f('MinCompatibilityMinor', ''),
    f('GitVersion', v.gitVersion),
    f('GitCommit', v.gitCommit),
    f('GitTreeState', v.gitTreeState),
    f('BuildDate', v.buildDate),
    f('GoVersion', v.goVersion),
    f('Compiler', v.compiler),
    f('Platform', v.platform),
  ].join(', ')}}`;
}

export function renderVersion(output: string, v = versionInfo()): string {
  switch (output) {
    case '':
      return `kubestrap version: ${goSyntax(v)}\n`;
    case 'short':
      return `${v.gitVersion}\n`;
    case 'json':
      return `${JSON.stringify({ clientVersion: v }, null, 2)}\n`;
    case 'yaml':
      // sigs.k8s.io/yaml sorts keys; kubeadm's Fprintln adds a blank line
      return `${stringify({ clientVersion: v }, { sortMapEntries: true })}\n`;
    default:
      throw new ConfigError(`invalid output format: ${output}`, { field: '--output', hint: "use 'yaml', 'json' or 'short'" });
  }
}

export function registerVersion(program: Command): void {
  program
    .command('version')
    .description('Print the version of kubestrap')
    .option('-o, --output <format>', "Output format; available options are 'yaml', 'json' and 'short'", '')
    .action((flags: { output: string }) => {
      process.stdout.write(renderVersion(flags.output));
    });
}
