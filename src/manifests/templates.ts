/**
 * The Handlebars templates in the package's templates/ directory. `_name.yaml.hbs` files are
 * partials (`{{> name}}`); the others are one manifest each. HTML escaping is off (these are YAML,
 * not HTML) and strict mode is on, so a template naming a value that does not exist fails instead
 * of printing an empty string.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import Handlebars from 'handlebars';
import YAML from 'yaml';
import { ManifestError, messageOf } from '../errors.js';
import { packageDirFiles, packageFileLabel, packageRoot, readPackageFile } from '../util/package-files.js';

/** The shipped templates, relative to the package root (SEA assets of the same names in dist/kubestrap). */
const SHIPPED_TEMPLATES = 'templates';
/** The shipped templates in the package tree (tests copy them to break one). */
export const DEFAULT_TEMPLATES_DIR = path.join(packageRoot(), SHIPPED_TEMPLATES);

const SUFFIX = '.yaml.hbs';
const COMPILE_OPTIONS: CompileOptions = { noEscape: true, strict: true };
export const TEMPLATE_HINT = 'the template (or a _partial it includes) is broken: fix it or reinstall kubestrap';

/**
 * A string as a YAML scalar: plain when YAML 1.2 and 1.1 readers both read it back unchanged,
 * else double-quoted (a JSON string is a valid YAML double-quoted scalar).
 */
const ALWAYS_PLAIN = /^(--[a-z0-9][-a-z0-9]*=|\/)[A-Za-z0-9_./:=,*+@%~-]*$/;
const PLAIN_WORD = /^[A-Za-z][A-Za-z0-9_./-]*$/;
/** Words YAML 1.1 or 1.2 read as booleans or null. */
const TYPED_WORDS = new Set(['y', 'yes', 'n', 'no', 'true', 'false', 'on', 'off', 'null']);

export function yamlScalar(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === undefined) throw new Error('{{q}} got undefined: the template names a value the view does not have');
  if (typeof value !== 'string') throw new Error(`{{q}} expects a string, got ${JSON.stringify(value)}`);
  // Flags, absolute paths and words of plain characters can only be read as strings: skip the parse.
  if (ALWAYS_PLAIN.test(value) || (PLAIN_WORD.test(value) && !TYPED_WORDS.has(value.toLowerCase()))) return value;
  let quoted = scalarCache.get(value);
  if (quoted === undefined) {
    // The read-back test catches indicators (`*`, `&`, `!`, `{`, `#`...) and typed values (`1e3`, `0x1F`, `1:20`).
    const plain = value !== '' && !/^\s|\s$|[\n\r\t]|: | #/.test(value) && readsBackAs(value);
    quoted = plain ? value : JSON.stringify(value);
    if (scalarCache.size < 10_000) scalarCache.set(value, quoted);
  }
  return quoted;
}

/** Values repeat across renders (images, addresses, quantities); parsing them twice each is the slow part. */
const scalarCache = new Map<string, string>();

function readsBackAs(value: string): boolean {
  try {
    return (['1.1', '1.2'] as const).every((version) => {
      const doc = YAML.parse(`- ${value}\n`, { version }) as unknown;
      return Array.isArray(doc) && doc.length === 1 && doc[0] === value;
    });
  } catch {
    return false;
  }
}

export interface TemplateSet {
  dir: string;
  /** Renders `<name>.yaml.hbs` with `view`; throws ManifestError naming the file. */
  render(name: string, view: object): string;
  file(name: string): string;
}

const cache = new Map<string, Promise<TemplateSet>>();

/** Where templates are read from: a directory given by the caller, or the shipped ones (package-files). */
interface TemplateSource {
  /** The directory as shown in messages and TemplateSet.dir. */
  dir: string;
  names(): Promise<string[]>;
  read(name: string): Promise<string>;
}

function dirSource(dir: string): TemplateSource {
  return { dir, names: () => readdir(dir), read: (name) => readFile(path.join(dir, name), 'utf8') };
}

const SHIPPED: TemplateSource = {
  dir: packageFileLabel(SHIPPED_TEMPLATES),
  names: () => Promise.resolve(packageDirFiles(SHIPPED_TEMPLATES)),
  read: (name) => Promise.resolve(readPackageFile(`${SHIPPED_TEMPLATES}/${name}`).toString('utf8')),
};

/**
 * Loads (once per directory) and syntax-checks every template, so a broken one is found up front.
 * Without `dir`: the templates kubestrap ships (from the package, or embedded in the single executable).
 */
export function loadTemplates(dir?: string): Promise<TemplateSet> {
  const source = dir === undefined ? SHIPPED : dirSource(path.resolve(dir));
  let set = cache.get(source.dir);
  if (!set) {
    set = compileDir(source);
    cache.set(source.dir, set);
    set.catch(() => cache.delete(source.dir));
  }
  return set;
}

async function compileDir(source: TemplateSource): Promise<TemplateSet> {
  const { dir } = source;
  let names: string[];
  try {
    names = (await source.names()).filter((f) => f.endsWith(SUFFIX));
  } catch (err) {
    throw new ManifestError(`cannot read the templates: ${messageOf(err)}`, { cause: err, file: dir, hint: TEMPLATE_HINT });
  }
  const env = Handlebars.create();
  env.registerHelper('q', (value: unknown) => yamlScalar(value));
  const templates = new Map<string, HandlebarsTemplateDelegate>();
  for (const name of names) {
    const file = path.join(dir, name);
    const text = await source.read(name);
    try {
      env.parse(text); // compile() is lazy; parse now so a syntax error names this file
    } catch (err) {
      throw new ManifestError(`template does not parse: ${firstLine(err)}`, { file, hint: TEMPLATE_HINT });
    }
    const base = name.slice(0, -SUFFIX.length);
    const compiled = env.compile(text, COMPILE_OPTIONS);
    if (base.startsWith('_')) env.registerPartial(base.slice(1), compiled);
    else templates.set(base, compiled);
  }
  const fileOf = (name: string): string => path.join(dir, `${name}${SUFFIX}`);
  return {
    dir,
    file: fileOf,
    render(name, view) {
      const template = templates.get(name);
      if (!template) throw new ManifestError(`template "${name}${SUFFIX}" is missing`, { file: fileOf(name), hint: TEMPLATE_HINT });
      try {
        return template(view);
      } catch (err) {
        throw new ManifestError(`template does not render: ${firstLine(err)}`, { file: fileOf(name), hint: TEMPLATE_HINT });
      }
    },
  };
}

function firstLine(err: unknown): string {
  return messageOf(err).split('\n')[0]!;
}
