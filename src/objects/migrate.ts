/** Applies append-only schema migrations to a Durable Object's SQLite storage, each step in its own transaction.
 *  (PRAGMA user_version is not available on DO SQLite, so applied steps are recorded in _migrations.) */
export function migrate(storage: DurableObjectStorage, steps: readonly string[]): void {
  const sql = storage.sql;
  sql.exec("CREATE TABLE IF NOT EXISTS _migrations (id INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
  const applied = sql.exec<{ v: number }>("SELECT COALESCE(MAX(id), 0) AS v FROM _migrations").one().v;
  steps.forEach((step, index) => {
    const id = index + 1;
    if (id <= applied) return;
    storage.transactionSync(() => {
      sql.exec(step);
      sql.exec("INSERT INTO _migrations (id, applied_at) VALUES (?, ?)", id, Date.now());
    });
  });
}
