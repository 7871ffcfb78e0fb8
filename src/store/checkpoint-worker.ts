/**
 * The thread that checkpoints a file store's WAL (see ./checkpointer.ts). It holds its own
 * connection to the file and runs a PASSIVE checkpoint each time it is asked: it copies what
 * it can of the WAL into the database file and fsyncs, never waiting on the writer, so the
 * host's main thread never pays for either.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

const port = parentPort!;
const db = new Database((workerData as { path: string }).path, { fileMustExist: true });

port.on('message', (message: 'checkpoint' | 'close') => {
  if (message === 'close') {
    db.close();
    port.close();
    return;
  }
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    port.postMessage({ ok: true });
  } catch (error) {
    port.postMessage({ ok: false, message: (error as Error).message });
  }
});
