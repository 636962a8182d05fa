/**
 * A ring-buffer FIFO, O(1) push and shift (`Array.shift()` is O(n) on large arrays). It grows as
 * needed; with a `maxLength` it is bounded: a push into a full queue drops the oldest item and
 * returns it.
 */
export class RingQueue<T> {
  private buf: (T | undefined)[];
  private head = 0;
  private size = 0;
  private mask: number;

  constructor(
    initialCapacity = 64,
    readonly maxLength = Number.POSITIVE_INFINITY,
  ) {
    let cap = 16;
    while (cap < Math.min(initialCapacity, maxLength)) cap <<= 1;
    this.buf = new Array<T | undefined>(cap);
    this.mask = cap - 1;
  }

  get length(): number {
    return this.size;
  }

  /** Appends `item`; when the queue was at its bound, the oldest item is removed and returned. */
  push(item: T): T | undefined {
    const evicted = this.size === this.maxLength ? this.shift() : undefined;
    if (this.size === this.buf.length) this.grow();
    this.buf[(this.head + this.size) & this.mask] = item;
    this.size++;
    return evicted;
  }

  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.buf[this.head];
    this.buf[this.head] = undefined; // release the reference for GC
    this.head = (this.head + 1) & this.mask;
    this.size--;
    return item;
  }

  peek(): T | undefined {
    return this.size === 0 ? undefined : this.buf[this.head];
  }

  clear(): void {
    this.buf = new Array<T | undefined>(16);
    this.mask = 15;
    this.head = 0;
    this.size = 0;
  }

  /** Items in FIFO order (a copy; for snapshots and debugging, not the hot path). */
  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.size; i++) out.push(this.buf[(this.head + i) & this.mask] as T);
    return out;
  }

  private grow(): void {
    const old = this.buf;
    const cap = old.length << 1;
    const next = new Array<T | undefined>(cap);
    for (let i = 0; i < this.size; i++) next[i] = old[(this.head + i) & this.mask];
    this.buf = next;
    this.head = 0;
    this.mask = cap - 1;
  }
}
