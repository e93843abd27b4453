// Minimal check runner: every check prints one PASS/FAIL line; the summary is
// "E2E: N passed, M failed".

export class Abort extends Error {}

export interface CheckResult {
  name: string;
  ok: boolean;
  ms: number;
  error?: string;
}

export const results: CheckResult[] = [];

export function log(msg: string) {
  process.stdout.write(`  ${msg}\n`);
}

/**
 * Run one check. A thrown error fails it. With `critical`, a failure also
 * aborts the rest of the run (later checks would only repeat the failure).
 */
export async function check<T>(name: string, fn: () => Promise<T> | T, opts: { critical?: boolean } = {}): Promise<T | undefined> {
  const t0 = Date.now();
  try {
    const v = await fn();
    const ms = Date.now() - t0;
    results.push({ name, ok: true, ms });
    process.stdout.write(`PASS ${name} (${(ms / 1000).toFixed(1)} s)\n`);
    return v;
  } catch (e) {
    const ms = Date.now() - t0;
    const error = e instanceof Error ? e.message : String(e);
    results.push({ name, ok: false, ms, error });
    process.stdout.write(`FAIL ${name} (${(ms / 1000).toFixed(1)} s)\n       ${error.replace(/\n/g, '\n       ')}\n`);
    if (opts.critical) throw new Abort(`critical check failed: ${name}`);
    return undefined;
  }
}

export function expect(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

export function summary(): { passed: number; failed: number } {
  const passed = results.filter((r) => r.ok).length;
  return { passed, failed: results.length - passed };
}
