// What every command shares: exit codes, argument parsers that exit with the
// usage code, Ctrl-C handling, and the engine's open-and-close.
import { InvalidArgumentError, type Command } from 'commander';

/** Exit codes, documented in --help. */
export const EXIT = { ok: 0, failures: 1, usage: 2, setup: 3, interrupted: 130 } as const;

/** Bad arguments of a command exit with EXIT.usage (2), help with 0. */
export function usageExits(cmd: Command): Command {
  return cmd.exitOverride((err) => {
    process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
  });
}

export function positiveInt(name: string) {
  return wholeNumber(name, 1);
}

/** A whole number >= `min`, else a usage error. */
export function wholeNumber(name: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\s*\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number >= ${min}`);
    return n;
  };
}

export function nonNegativeNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number >= 0`);
    return n;
  };
}

export function usageError(message: string): never {
  process.stderr.write(`faceseg: ${message}\n`);
  process.exit(EXIT.usage);
}

/** `check()`'s value; its error, if any, printed as a usage error (exit 2). */
export async function orUsageError<T>(check: () => T | Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (e) {
    usageError((e as Error).message);
  }
}

/**
 * Run `work` with a signal that Ctrl-C aborts: once, it stops after the
 * `what` in flight; twice, the process quits now. `close` runs afterwards in
 * any case (the engine, the learning store).
 */
export async function untilInterrupted<T>(what: string, work: (signal: AbortSignal) => Promise<T>, close: () => Promise<void>): Promise<T> {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(EXIT.interrupted);
    process.stderr.write(`\nfaceseg: stopping after the ${what} in flight (Ctrl-C again to quit now)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGINT', onSigint);
    await close();
  }
}

/** The error names that mean "could not start" (config, data, models, the server's port): EXIT.setup. */
export const SETUP_ERRORS = ['ConfigError', 'DataMissingError', 'ModelFileError', 'ManifestError', 'RefinerPriorError', 'ListenError'];
