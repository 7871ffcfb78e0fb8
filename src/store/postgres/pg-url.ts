/** Whether a `database` option names a PostgreSQL queue: told without loading the driver. */

/** A `postgres:` or `postgresql:` URL names a PostgreSQL database; anything else is a file. */
export function isPostgresUrl(database: string): boolean {
  return /^postgres(ql)?:\/\//i.test(database);
}
