// The webhook inbox: /webhook commits the event to the store before it answers
// 201, and this processor hands the events to the handler in the background,
// oldest first. What a crash leaves behind is processed at the next start (or
// by another replica once the dead one's claim expires).
import type { Logger } from '../logging.js';
import type { WebhookEvent } from '../labelstudio/schemas.js';
import { BadRecordError } from './store-codec.js';
import type { InboxEvent, LearningStore } from './store.js';

export interface InboxOptions {
  store: LearningStore;
  handler: (event: WebhookEvent) => Promise<void>;
  logger: Logger;
  /** An event whose handler failed (or crashed the process) this many times is dropped with an error. Default 3. */
  maxAttempts?: number;
  /** How often to look for events put by other replicas or left by a crash. Default 1000 ms. */
  pollMs?: number;
  /** Events claimed per take. Default 16. */
  batch?: number;
  /** How often the claim on the events being processed is renewed (< the store's lease). Default 10 s. */
  renewMs?: number;
}

export class WebhookInbox {
  private readonly store: LearningStore;
  private readonly log: Logger;
  private readonly maxAttempts: number;
  private readonly batch: number;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;

  constructor(private readonly o: InboxOptions) {
    this.store = o.store;
    this.log = o.logger;
    this.maxAttempts = o.maxAttempts ?? 3;
    this.batch = o.batch ?? 16;
  }

  /** Commit the event (the caller answers 201 after this resolves) and wake the processor if started. Throws InboxFullError when full. */
  async accept(event: WebhookEvent): Promise<number> {
    const id = await this.store.putEvent(JSON.stringify(event));
    this.kick();
    return id;
  }

  /** Process what is left from before (a crash) and poll for more. */
  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => this.kick(), this.o.pollMs ?? 1000);
    this.timer.unref();
    this.kick();
  }

  /** Stop polling and wait for the event in hand; unprocessed events stay in the store. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Wait until nothing is left to take (after start; tests). */
  async drain(): Promise<void> {
    this.kick();
    while (this.running) await this.running;
  }

  private kick(): void {
    if (!this.timer) return; // not started, or stopped
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pump()
      .catch((err: unknown) => {
        this.log.error(`webhook inbox: ${(err as Error)?.message ?? String(err)}`);
      })
      .finally(() => {
        this.running = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          this.kick();
        }
      });
  }

  private async pump(): Promise<void> {
    while (!this.stopped) {
      this.again = false;
      const events = await this.store.takeEvents(this.batch);
      if (events.length === 0) return;
      const pending = new Set(events.map((e) => e.id));
      const renew = setInterval(() => {
        this.store.touchEvents([...pending]).catch((err: unknown) => this.log.warn(`webhook inbox: renewing the claim failed: ${(err as Error).message}`));
      }, this.o.renewMs ?? 10_000);
      renew.unref();
      try {
        for (const e of events) {
          if (this.stopped) return;
          await this.process(e);
          pending.delete(e.id);
        }
      } finally {
        clearInterval(renew);
      }
    }
  }

  private async process(e: InboxEvent): Promise<void> {
    if (e.attempts > this.maxAttempts) {
      this.log.error('webhook inbox: event dropped after failing repeatedly', { event: e.id, attempts: e.attempts - 1 });
      await this.store.doneEvent(e.id);
      return;
    }
    let event: WebhookEvent;
    try {
      event = JSON.parse(e.event) as WebhookEvent;
    } catch {
      this.log.error('webhook inbox: unreadable event dropped', { event: e.id });
      await this.store.doneEvent(e.id);
      return;
    }
    try {
      await this.o.handler(event);
    } catch (err) {
      if (err instanceof BadRecordError) {
        this.log.warn(`webhook event ${e.id} (${event.action}) not learned from: ${err.message}`);
        await this.store.doneEvent(e.id);
        return;
      }
      // left claimed: taken again when the claim expires (a passing database error), dropped after maxAttempts
      this.log.error('webhook handler failed', { event: e.id, action: event.action, attempt: e.attempts, error: (err as Error)?.message ?? String(err) });
      return;
    }
    await this.store.doneEvent(e.id);
  }
}
