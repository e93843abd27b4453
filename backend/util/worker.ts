// Worker threads whose body is a module next to the caller. Under tsx (npm
// start, tests) a worker does not inherit the TypeScript loader: it registers
// tsx itself before importing the body. The built package runs plain .js.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** A worker running `./<name>.ts` (under tsx) or `./<name>.js` (built), resolved against `callerUrl` (import.meta.url). */
export function moduleWorker(callerUrl: string, name: string, options: WorkerOptions = {}): Worker {
  const here = new URL(callerUrl);
  const ts = here.pathname.endsWith('.ts');
  const body = new URL(`./${name}.${ts ? 'ts' : 'js'}`, here).href;
  return ts
    ? new Worker(`import(${JSON.stringify(tsxApi())}).then((t) => { t.register(); return import(${JSON.stringify(body)}); });`, { eval: true, ...options })
    : new Worker(new URL(body), options);
}

/** tsx's ESM register API (require.resolve finds its CommonJS twin beside it). */
function tsxApi(): string {
  const cjs = createRequire(import.meta.url).resolve('tsx/esm/api');
  const mjs = cjs.replace(/\.cjs$/, '.mjs');
  return pathToFileURL(existsSync(mjs) ? mjs : cjs).href;
}
