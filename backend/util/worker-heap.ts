// The V8 heap of the engine's worker threads. An engine worker allocates tens
// of MB of short-lived typed arrays and objects per image; some live through
// two scavenges, are promoted, and die soon after. A new isolate starts with a
// small old-generation limit, so that trickle of dead promoted objects set off
// a full mark-compact every image or two (1280x720 x3 scenes, 2 workers: 42-46
// CPU ms per image in V8's helper threads, most of it concurrent marking; 7-16
// with a 64 MB start). The scavenges free nearly all of it anyway: an engine
// given a 96 MB start ran 200 such images with no mark-compact after start-up
// and a 55 MB heap (bench/README.md, "Worker heaps").
import v8 from 'node:v8';

/** The old-generation size a new engine worker isolate starts with, in MB. */
export const WORKER_INITIAL_OLD_SPACE_MB = 64;

const FLAG = /^--initial[-_]old[-_]space[-_]size(=|$)/;

let sized = false;

/**
 * Sets V8's initial old-generation size for isolates created from now on (the
 * workers; the main isolate's heap is already configured and keeps its own),
 * once per process. V8 reads the flag when it sets up a new isolate's heap, so
 * this runs before the first worker starts. An operator's own
 * --initial-old-space-size (node's command line) stands. Returns whether it set it.
 */
export function sizeWorkerHeaps(): boolean {
  if (sized) return false;
  sized = true;
  if (process.execArgv.some((a) => FLAG.test(a))) return false;
  v8.setFlagsFromString(`--initial-old-space-size=${WORKER_INITIAL_OLD_SPACE_MB}`);
  return true;
}
