import type { Route } from "./flow";
import type { Payload } from "./types";

/** What the queue needs to know of an activation, without depending on the Job module. */
export interface QueuedActivation {
  readonly payload: Payload;
}

export type ActivationFactory<A> = (route: Route, payload: Payload, parent: A | null, depth: number) => A;

/**
 * A job's FIFO of pending activations, kept as parallel ring arrays rather than one object per
 * item: a big queue then costs a few array slots per payload, and the Activation object is only
 * built when the item is taken out — so it dies young instead of being promoted by the GC.
 * Ready-made activations (the entry, retries, debugger-made ones) are queued as they are.
 */
export class ActivationQueue<A extends QueuedActivation> {
  private items: (Route | A | undefined)[];
  private payloads: (Payload | undefined)[];
  private parents: (A | null | undefined)[];
  private depths: number[];
  /** Each item's estimated bytes (see estimatePayloadBytes), so `bytes` drops as items leave. */
  private sizes: number[];
  private head = 0;
  private size = 0;
  private mask: number;
  /** Estimated bytes of the queued payloads (the sum of what the pushes declared). */
  bytes = 0;

  constructor(
    private readonly isActivation: (item: Route | A) => item is A,
    private readonly build: ActivationFactory<A>,
    initialCapacity = 64,
    /** A ready-made activation's parent, undefined for one that is not new (a retry). */
    private readonly parentOfActivation?: (act: A) => A | null | undefined,
  ) {
    let cap = 16;
    while (cap < initialCapacity) cap <<= 1;
    this.items = new Array(cap);
    this.payloads = new Array(cap);
    this.parents = new Array(cap);
    this.depths = new Array<number>(cap).fill(0);
    this.sizes = new Array<number>(cap).fill(0);
    this.mask = cap - 1;
  }

  get length(): number {
    return this.size;
  }

  pushRoute(route: Route, payload: Payload, parent: A | null, depth: number, bytes: number): void {
    if (this.size === this.items.length) this.grow();
    const i = (this.head + this.size) & this.mask;
    this.items[i] = route;
    this.payloads[i] = payload;
    this.parents[i] = parent;
    this.depths[i] = depth;
    this.sizes[i] = bytes;
    this.bytes += bytes;
    this.size++;
  }

  pushActivation(act: A, bytes: number): void {
    if (this.size === this.items.length) this.grow();
    const i = (this.head + this.size) & this.mask;
    this.items[i] = act;
    this.payloads[i] = undefined;
    this.parents[i] = undefined;
    this.sizes[i] = bytes;
    this.bytes += bytes;
    this.size++;
  }

  shift(): A | undefined {
    if (this.size === 0) return undefined;
    const i = this.head;
    const item = this.items[i] as Route | A;
    let act: A;
    if (this.isActivation(item)) {
      act = item;
    } else {
      act = this.build(item, this.payloads[i] as Payload, this.parents[i] as A | null, this.depths[i] as number);
      this.payloads[i] = undefined;
      this.parents[i] = undefined;
    }
    this.items[i] = undefined;
    this.bytes -= this.sizes[i] as number;
    this.head = (i + 1) & this.mask;
    this.size--;
    return act;
  }

  clear(): void {
    this.items = new Array(16);
    this.payloads = new Array(16);
    this.parents = new Array(16);
    this.depths = new Array<number>(16).fill(0);
    this.sizes = new Array<number>(16).fill(0);
    this.mask = 15;
    this.head = 0;
    this.size = 0;
    this.bytes = 0;
  }

  /**
   * The parent of each queued item in FIFO order: a routed payload's parent, a ready-made
   * activation's own parent on its first attempt, undefined for a retry (it is not a new child).
   */
  parentsOf(): (A | null | undefined)[] {
    const out: (A | null | undefined)[] = [];
    for (let k = 0; k < this.size; k++) {
      const i = (this.head + k) & this.mask;
      const item = this.items[i] as Route | A;
      if (this.isActivation(item)) out.push(this.parentOfActivation?.(item));
      else out.push(this.parents[i] as A | null);
    }
    return out;
  }

  /** A read-only view of the queued items in FIFO order (for inspection, not the hot path). */
  peekAll(): { route: Route | null; activation: A | null; payload: Payload; depth: number }[] {
    const out: { route: Route | null; activation: A | null; payload: Payload; depth: number }[] = [];
    for (let k = 0; k < this.size; k++) {
      const i = (this.head + k) & this.mask;
      const item = this.items[i] as Route | A;
      if (this.isActivation(item)) out.push({ route: null, activation: item, payload: item.payload, depth: -1 });
      else out.push({ route: item, activation: null, payload: this.payloads[i] as Payload, depth: this.depths[i] as number });
    }
    return out;
  }

  private grow(): void {
    const cap = this.items.length << 1;
    const items = new Array<Route | A | undefined>(cap);
    const payloads = new Array<Payload | undefined>(cap);
    const parents = new Array<A | null | undefined>(cap);
    const depths = new Array<number>(cap).fill(0);
    const sizes = new Array<number>(cap).fill(0);
    for (let k = 0; k < this.size; k++) {
      const i = (this.head + k) & this.mask;
      items[k] = this.items[i];
      payloads[k] = this.payloads[i];
      parents[k] = this.parents[i];
      depths[k] = this.depths[i] as number;
      sizes[k] = this.sizes[i] as number;
    }
    this.items = items;
    this.payloads = payloads;
    this.parents = parents;
    this.depths = depths;
    this.sizes = sizes;
    this.head = 0;
    this.mask = cap - 1;
  }
}
