/**
 * The store's pool of connections, through which every statement of the PostgreSQL store
 * runs: a lost server is thrown as StoreUnavailableError (./pg-errors.ts), and a connection
 * that failed is dropped from the pool rather than handed out again.
 */
import pg from 'pg';
import { isConnectionFailure, storeError } from './pg-errors.js';

/** bigint (epoch ms, seq) as a JS number, for the store's own connections only. */
const BIGINT_OID = 20;
export const PG_TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === BIGINT_OID ? Number : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** One statement on a connection: what a transaction's work is given. */
export type Queryable = Pick<pg.PoolClient, 'query'>;

export class PgDb {
  readonly pool: pg.Pool;
  /** The server, as messages name it (./pg-errors.ts redact). */
  readonly where: string;

  constructor(pool: pg.Pool, where: string) {
    this.pool = pool;
    this.where = where;
  }

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(text, values);
    } catch (error) {
      throw storeError(error, this.where);
    }
  }

  /** Runs `work` in one transaction on one connection: all of it, or none. */
  async transaction<T>(work: (client: Queryable) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw storeError(error, this.where);
    }
    // The pool listens for a connection's errors only while it is idle: one the server ends
    // between two statements of this transaction would otherwise be an unhandled 'error'
    // event, and end the process. The failing statement rejects and says what happened.
    const ignore = (): void => {};
    client.on('error', ignore);
    let failure: unknown;
    try {
      await client.query('BEGIN');
      const value = await work(client);
      await client.query('COMMIT');
      return value;
    } catch (error) {
      failure = error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw storeError(error, this.where);
    } finally {
      client.off('error', ignore);
      // A connection that failed is closed, not handed to the next caller.
      client.release(isConnectionFailure(failure) ? (failure as Error) : undefined);
    }
  }
}
