// A memory budget shared by all requests: decoded images (width*height*3
// bytes) reserve their size before decoding and give it back once the engine
// is done with them, so four concurrent 100 MP requests wait for each other
// instead of holding 1.2 GB of pixels at once. First come, first served; a
// reservation larger than the whole budget runs alone.

export type Release = () => void;

export class ByteBudget {
  private used = 0;
  private readonly waiting: Array<{ bytes: number; grant: () => void }> = [];

  constructor(readonly total: number) {}

  /** Bytes reserved now. */
  get inUse(): number {
    return this.used;
  }

  /** Reservations waiting for room. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Wait for room for `bytes`; the returned function gives it back (once). */
  acquire(bytes: number, signal?: AbortSignal): Promise<Release> {
    const n = Math.max(0, Math.ceil(bytes));
    return new Promise<Release>((resolve, reject) => {
      const grant = () => {
        this.used += n;
        let done = false;
        resolve(() => {
          if (done) return;
          done = true;
          this.used -= n;
          this.pump();
        });
      };
      if (this.waiting.length === 0 && this.fits(n)) return grant();
      const entry = { bytes: n, grant };
      this.waiting.push(entry);
      signal?.addEventListener(
        'abort',
        () => {
          const i = this.waiting.indexOf(entry);
          if (i >= 0) {
            this.waiting.splice(i, 1);
            reject(signal.reason ?? new Error('aborted'));
            this.pump();
          }
        },
        { once: true },
      );
    });
  }

  private fits(n: number): boolean {
    return this.used + n <= this.total || this.used === 0;
  }

  private pump(): void {
    while (this.waiting.length && this.fits(this.waiting[0].bytes)) this.waiting.shift()!.grant();
  }
}
