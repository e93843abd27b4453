// A fresh PostgreSQL database per test on the server of LEARNING_TEST_PG_URL
// (test/pg/start-pg.sh starts a throwaway one; .ci/run does).
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_URL = process.env.LEARNING_TEST_PG_URL?.trim() || undefined;
export const PG_SKIP_REASON = 'LEARNING_TEST_PG_URL is not set: the PostgreSQL store tests are skipped (url=$(test/pg/start-pg.sh DIR) starts a server)';

const created: string[] = [];

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** CREATE DATABASE faceseg_test_<random>; returns its URL. */
export async function freshDatabase(): Promise<string> {
  if (!PG_URL) throw new Error(PG_SKIP_REASON);
  const name = `faceseg_test_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  created.push(name);
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Drop every database freshDatabase made (afterAll). */
export async function dropDatabases(): Promise<void> {
  if (!PG_URL || created.length === 0) return;
  const names = created.splice(0);
  await admin(async (c) => {
    for (const n of names) await c.query(`DROP DATABASE IF EXISTS ${n} WITH (FORCE)`);
  });
}
