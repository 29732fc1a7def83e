/**
 * `yaml`'s functions for modules that load it only when used: `await import('../util/yaml-lazy.js')`.
 * Not `await import('yaml')`: yaml is CommonJS, and the chunk esbuild splits off for a dynamically
 * imported CommonJS package has a default export only, so its named functions are undefined in
 * dist/bundle (tsx and Node's own loader hide that). Through this ES module they are named exports.
 */
export { parseDocument, stringify } from 'yaml';
