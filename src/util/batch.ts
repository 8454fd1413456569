// Batching of concurrent requests: calls made while a batch is in flight (or in one event-loop
// turn) go out together in the next one, so N concurrent callers cost about log-many round trips,
// not N, and nobody waits for a timer. Each caller gets its own result or error.

export interface BatchOptions<I> {
  /** At most this many items per batch. */
  maxItems?: number;
  /** Items are added to a batch while the sum of their sizes stays at most this (one item always fits). */
  maxSize?: number;
  size?: (item: I) => number;
}

export class Batcher<I, O> {
  private pending: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  private busy = false;

  /** `send` answers one result per item, in order: an Error fails only that item's caller. */
  constructor(
    private readonly send: (items: I[]) => Promise<(O | Error)[]>,
    private readonly o: BatchOptions<I> = {},
  ) {}

  run(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.busy || this.pending.length === 0) return;
    this.busy = true;
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    const max = this.o.maxItems ?? Infinity;
    const maxSize = this.o.maxSize ?? Infinity;
    let n = 0;
    let size = 0;
    while (n < this.pending.length && n < max) {
      const s = this.o.size?.(this.pending[n]!.item) ?? 0;
      if (n > 0 && size + s > maxSize) break;
      size += s;
      n++;
    }
    const batch = this.pending.splice(0, n);
    try {
      const out = await this.send(batch.map((b) => b.item));
      batch.forEach((b, i) => {
        const r = out[i];
        if (r instanceof Error) b.reject(r);
        else if (r === undefined) b.reject(new Error('no result for this item'));
        else b.resolve(r);
      });
    } catch (e) {
      for (const b of batch) b.reject(e);
    } finally {
      this.busy = false;
      this.kick();
    }
  }
}
