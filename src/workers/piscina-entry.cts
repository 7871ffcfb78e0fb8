/**
 * The file Piscina loads in each worker thread. It is CommonJS on purpose: Piscina loads
 * its `filename` with require() first, and on Node 20.19+ require() of an ES module can
 * abort the whole process (a V8 fatal error in CreateRequiredModuleFacade) when the thread
 * is terminated while the module loads -- which close() right after open() does. A CJS file
 * is required the ordinary way and imports the real entry with import().
 *
 * What it exports is a promise of the task function, which Piscina awaits before it counts
 * the thread ready: the entry and the handlers module are loaded first. Exported at once,
 * the thread was ready in a millisecond and took calls while it still loaded them for
 * 20-50 ms: a task sent to a thread started in place of a terminated one was counted as
 * started (a lone task is, when sent) long before its handler ran.
 */
type Entry = typeof import('./worker-entry.js', { with: { 'resolution-mode': 'import' } });

module.exports = import('./worker-entry.js').then(async (entry: Entry) => {
  await entry.ready;
  return entry.default;
});
