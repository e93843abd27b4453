// The last task failures, for the team page: a fixed-size ring, so a flood of
// bad tasks costs the same memory as a few.

export interface TaskFailure {
  /** Epoch ms. */
  at: number;
  taskId: string;
  project?: string;
  reason: string;
  message: string;
}

const MAX_MESSAGE = 300;

export class RecentFailures {
  private readonly ring: TaskFailure[] = [];
  private next = 0;
  private total = 0;

  constructor(readonly capacity = 50) {
    if (!(capacity >= 1)) throw new Error('capacity must be at least 1');
  }

  add(f: TaskFailure): void {
    const entry = { ...f, taskId: f.taskId.slice(0, 64), reason: f.reason.slice(0, 64), message: f.message.slice(0, MAX_MESSAGE) };
    if (this.ring.length < this.capacity) this.ring.push(entry);
    else this.ring[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
    this.total++;
  }

  /** Newest first. */
  list(): TaskFailure[] {
    const n = this.ring.length;
    const out: TaskFailure[] = [];
    for (let i = 1; i <= n; i++) out.push(this.ring[(this.next - i + n) % n]);
    return out;
  }

  /** Failures since start, including those the ring has forgotten. */
  get count(): number {
    return this.total;
  }
}
