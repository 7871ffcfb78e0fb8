/**
 * The file Piscina loads in each worker thread. It is CommonJS on purpose: Piscina loads
 * its `filename` with require() first, and on Node 20.19+ require() of an ES module can
 * abort the whole process (a V8 fatal error in CreateRequiredModuleFacade) when the thread
 * is terminated while the module loads -- which close() right after open() does. A CJS file
 * is required the ordinary way and imports the real entry with import().
 */
type Entry = typeof import('./worker-entry.js', { with: { 'resolution-mode': 'import' } });
let entry: Promise<Entry> | undefined;

module.exports = async function run(request: Parameters<Entry['default']>[0]): Promise<unknown> {
  entry ??= import('./worker-entry.js');
  return (await entry).default(request);
};
