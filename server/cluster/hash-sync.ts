/**
 * A Redis hash every process of a cluster keeps a local copy of: a version counter bumped on every
 * change, announced on a channel; each process reads the hash again when the version moves
 * (`pull`, one at a time) and writes its own changes as differences (`write`, in order), so two
 * processes changing different entries at once lose neither. What the copy is (flow breakpoints,
 * shared flows) and how it is applied is the subclass's.
 */
import type { Redis } from "ioredis";

export interface HashKeys {
  hash: string;
  version: string;
  channel: string;
}

export abstract class HashSync {
  private version = 0;
  private readonly onMessage = (channel: string): void => {
    if (channel === this.keys.channel) void this.pull();
  };
  private pulling: Promise<void> | null = null;
  private pullAgain = false;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    protected readonly redis: Redis,
    private readonly sub: Redis,
    private readonly keys: HashKeys,
    /** For messages: what the hash holds ("flow breakpoints"). */
    private readonly what: string,
  ) {}

  /** Makes the local copy equal to the hash's entries. */
  protected abstract apply(all: Record<string, string>): void;

  protected async listen(): Promise<void> {
    this.sub.on("message", this.onMessage);
    await this.sub.subscribe(this.keys.channel);
  }

  stop(): void {
    this.sub.off("message", this.onMessage);
  }

  /** The version this process has applied (or written) at least. */
  get appliedVersion(): number {
    return this.version;
  }

  /** Reads the hash (with its version, in one transaction) and applies it. */
  pull(): Promise<void> {
    if (this.pulling) {
      this.pullAgain = true;
      return this.pulling;
    }
    this.pulling = (async () => {
      try {
        do {
          this.pullAgain = false;
          const res = await this.redis.multi().get(this.keys.version).hgetall(this.keys.hash).exec();
          this.apply((res?.[1]?.[1] as Record<string, string> | null) ?? {});
          this.version = Number((res?.[0]?.[1] as string | null) ?? 0);
        } while (this.pullAgain);
      } catch (err) {
        console.warn(`[cluster] ${this.what} not read: ${(err as Error).message}`);
      } finally {
        this.pulling = null;
      }
    })();
    return this.pulling;
  }

  /** Writes entries (`set`: field, value, ...) and removals, bumps the version and announces it. */
  protected write(set: string[], del: string[], onlyNew = false): void {
    if (set.length === 0 && del.length === 0) return;
    this.writing = this.writing.then(async () => {
      try {
        const m = this.redis.multi();
        if (onlyNew) for (let i = 0; i + 1 < set.length; i += 2) m.hsetnx(this.keys.hash, set[i] as string, set[i + 1] as string);
        else if (set.length) m.hset(this.keys.hash, ...set);
        if (del.length) m.hdel(this.keys.hash, ...del);
        m.incr(this.keys.version);
        const res = await m.exec();
        const written = Number(res?.at(-1)?.[1] ?? 0);
        // This process has its own change: it is at that version (unless a pull saw a later one).
        if (written > this.version) this.version = written;
        await this.redis.publish(this.keys.channel, "1");
      } catch (err) {
        console.warn(`[cluster] ${this.what} not written: ${(err as Error).message}`);
      }
    });
  }

  /** Resolves once local changes made so far are in Redis. */
  flushed(): Promise<void> {
    return this.writing;
  }
}
