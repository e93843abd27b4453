// A bounded work queue in front of the face engine.
//
// Engine calls run `concurrency` at a time: one per engine worker thread
// (backend/engine-pool.ts), 1 by default. A /predict request is *admitted* with its number
// of tasks as its cost; each of its tasks then waits its turn for an engine
// slot. Requests interleave task by task (FIFO per task), so a one-task request
// does not wait behind the whole of a 100-task one.
//
// Admission control, so that work does not pile up past the caller's timeout
// (Label Studio drops a /predict answer after 100 s):
//   - at most `concurrency + maxQueue` requests are admitted at once;
//   - the finish time of every admitted request is estimated from the recent
//     mean engine time per task under round-robin sharing; a new request is
//     refused when it, or any request already admitted, would then finish after
//     its deadline (arrival + callerTimeoutMs). A request alone on an idle
//     queue is always admitted (a retry would not help it); a request already
//     bound to be late is not protected.
// A refused request gets QueueFullError with a Retry-After estimate: 503.
import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';

export interface WorkQueueOptions {
  /** Engine calls at once. Default 1. */
  concurrency?: number;
  /** Admitted requests beyond `concurrency` that may wait. Default 32. */
  maxQueue?: number;
  /** The caller's read timeout: admitted work must finish within it. Default 100 000 ms. */
  callerTimeoutMs?: number;
  /** Fraction of the timeout to plan for (headroom for fetch, RLE, network). Default 0.9. */
  safety?: number;
  /** Service time assumed per task before any was measured. Default 1000 ms. */
  initialServiceMs?: number;
  /** How many recent service times the estimate averages. Default 20. */
  window?: number;
  now?: () => number;
  /** Registry for the queue gauges (faceseg_queue_*). */
  registry?: Registry;
  metricPrefix?: string;
}

export class QueueFullError extends Error {
  constructor(
    readonly reason: 'queue_full' | 'would_time_out',
    /** Seconds after which a retry has a fair chance. */
    readonly retryAfterS: number,
    message: string,
  ) {
    super(message);
    this.name = 'QueueFullError';
  }
}

export interface Ticket {
  /** Run one unit of work (one engine call) when a slot is free. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** Done with this request (also when it stops early): frees its reservation and any queued turn. */
  release(): void;
  /** Milliseconds until this request's deadline (negative when past). */
  remainingMs(): number;
}

interface Entry {
  remaining: number;
  deadline: number;
  released: boolean;
}

interface Waiter {
  entry: Entry;
  start: () => void;
  cancel: (err: Error) => void;
}

export interface QueueStats {
  active: number;
  waiting: number;
  admitted: number;
  outstandingTasks: number;
  serviceMs: number;
  estimatedWaitMs: number;
}

export class WorkQueue {
  readonly concurrency: number;
  readonly maxQueue: number;
  readonly callerTimeoutMs: number;
  private readonly safety: number;
  private readonly window: number;
  private readonly now: () => number;
  private readonly samples: number[] = [];
  private readonly initialServiceMs: number;
  private readonly entries = new Set<Entry>();
  private readonly waiters: Waiter[] = [];
  private active = 0;
  private readonly rejected?: Counter<'reason'>;

  constructor(options: WorkQueueOptions = {}) {
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? 1));
    this.maxQueue = Math.max(0, Math.floor(options.maxQueue ?? 32));
    this.callerTimeoutMs = Math.max(1, options.callerTimeoutMs ?? 100_000);
    this.safety = Math.min(1, Math.max(0.1, options.safety ?? 0.9));
    this.initialServiceMs = Math.max(1, options.initialServiceMs ?? 1000);
    this.window = Math.max(1, options.window ?? 20);
    this.now = options.now ?? (() => performance.now());
    if (options.registry) {
      const p = options.metricPrefix ?? 'faceseg_';
      const registers = [options.registry];
      const self = this;
      new Gauge({ name: `${p}queue_active`, help: 'Engine calls running now', registers, collect() { this.set(self.active); } });
      new Gauge({ name: `${p}queue_waiting`, help: 'Engine calls waiting for a slot', registers, collect() { this.set(self.waiters.length); } });
      new Gauge({ name: `${p}queue_admitted_requests`, help: 'Predict requests admitted and not finished (queue depth, for autoscaling)', registers, collect() { this.set(self.entries.size); } });
      new Gauge({ name: `${p}queue_outstanding_tasks`, help: 'Tasks of admitted requests not yet segmented', registers, collect() { this.set(self.outstanding()); } });
      new Gauge({ name: `${p}queue_estimated_wait_seconds`, help: 'Estimated time to drain the admitted work', registers, collect() { this.set(self.drainMs() / 1000); } });
      this.rejected = new Counter({ name: `${p}queue_rejected_total`, help: 'Predict requests refused with 503, by reason', labelNames: ['reason'] as const, registers });
    }
  }

  /** Mean of the recent engine times per task (ms), or the initial guess. */
  serviceMs(): number {
    if (!this.samples.length) return this.initialServiceMs;
    return this.samples.reduce((a, b) => a + b, 0) / this.samples.length;
  }

  private outstanding(): number {
    let n = 0;
    for (const e of this.entries) n += e.remaining;
    return n;
  }

  /** Time to finish all admitted work at the current service rate. */
  private drainMs(): number {
    return (this.outstanding() * this.serviceMs()) / this.concurrency;
  }

  /** Round-robin finish time of an entry with `rem` tasks among `others`. */
  private finishMs(rem: number, others: Iterable<{ remaining: number }>): number {
    let units = rem;
    for (const o of others) units += Math.min(o.remaining, rem);
    return (units * this.serviceMs()) / this.concurrency;
  }

  stats(): QueueStats {
    return {
      active: this.active,
      waiting: this.waiters.length,
      admitted: this.entries.size,
      outstandingTasks: this.outstanding(),
      serviceMs: Math.round(this.serviceMs()),
      estimatedWaitMs: Math.round(this.drainMs()),
    };
  }

  private retryAfter(): number {
    // when about half of the admitted work has drained; at least 1 s, at most the caller's timeout
    const s = Math.ceil(this.drainMs() / 2000);
    return Math.min(Math.max(1, s), Math.ceil(this.callerTimeoutMs / 1000));
  }

  private refuse(reason: 'queue_full' | 'would_time_out', message: string): never {
    this.rejected?.inc({ reason });
    const s = this.retryAfter();
    throw new QueueFullError(reason, s, `${message}; retry in about ${s} s`);
  }

  /**
   * Admit a request of `cost` tasks, or throw QueueFullError. `timeoutMs`
   * overrides the caller's timeout for this request.
   */
  admit(cost: number, timeoutMs = this.callerTimeoutMs): Ticket {
    const units = Math.max(1, Math.floor(cost));
    const now = this.now();
    const budget = timeoutMs * this.safety;
    if (this.entries.size > 0) {
      if (this.entries.size >= this.concurrency + this.maxQueue) {
        this.refuse('queue_full', `The backend is busy: ${this.entries.size} requests are in progress or queued (QUEUE_MAX_LENGTH=${this.maxQueue})`);
      }
      const mine = this.finishMs(units, this.entries);
      if (mine > budget) {
        this.refuse(
          'would_time_out',
          `The backend is busy: ${units} task(s) would finish in about ${Math.round(mine / 1000)} s, past the caller's timeout of ${Math.round(timeoutMs / 1000)} s (PREDICT_TIMEOUT_MS)`,
        );
      }
      for (const e of this.entries) {
        const others: Array<{ remaining: number }> = [...this.entries].filter((o) => o !== e);
        // already late without the newcomer (e.g. a lone request larger than the timeout): nothing to protect
        if (now + this.finishMs(e.remaining, others) > e.deadline) continue;
        others.push({ remaining: units });
        if (now + this.finishMs(e.remaining, others) > e.deadline) {
          this.refuse('would_time_out', 'The backend is busy: taking this request would make an earlier one miss its deadline');
        }
      }
    }
    const entry: Entry = { remaining: units, deadline: now + budget, released: false };
    this.entries.add(entry);
    return {
      run: <T>(fn: () => Promise<T>) => this.runUnit(entry, fn),
      release: () => this.release(entry),
      remainingMs: () => entry.deadline - this.now(),
    };
  }

  private release(entry: Entry): void {
    if (entry.released) return;
    entry.released = true;
    entry.remaining = 0;
    this.entries.delete(entry);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i].entry === entry) {
        const [w] = this.waiters.splice(i, 1);
        w.cancel(new Error('request released while waiting'));
      }
    }
  }

  private async runUnit<T>(entry: Entry, fn: () => Promise<T>): Promise<T> {
    if (entry.released) throw new Error('ticket already released');
    if (this.active >= this.concurrency) {
      await new Promise<void>((resolve, reject) => this.waiters.push({ entry, start: resolve, cancel: reject }));
    } else {
      this.active++;
    }
    const t0 = this.now();
    try {
      return await fn();
    } finally {
      const ms = this.now() - t0;
      this.samples.push(ms);
      if (this.samples.length > this.window) this.samples.shift();
      if (entry.remaining > 0) entry.remaining--;
      const next = this.waiters.shift();
      if (next) next.start(); // the slot passes on: active stays the same
      else this.active--;
    }
  }
}
