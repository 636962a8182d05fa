/**
 * The test redis-server (tests/helpers/redis.ts): it starts, keeps what was written across a
 * restart, and is gone after stop.
 */
import { existsSync } from "node:fs";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { startRedis, type TestRedis } from "../helpers/redis";

let redis: TestRedis | null = null;
let client: Redis | null = null;

afterEach(async () => {
  client?.disconnect();
  client = null;
  await redis?.stop();
  redis = null;
});

/** True while a process with this pid exists (signal 0 only checks). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("test redis-server", () => {
  it("keeps a key across a restart on the same port, and is gone after stop", async () => {
    redis = await startRedis();
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    // One attempt per command: a test must fail on a dead server, not wait for it to come back.
    client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    await client.connect();
    expect(await client.set("routilux:harness", "kept")).toBe("OK");
    client.disconnect();

    const firstPid = redis.pid;
    await redis.restart();
    expect(redis.pid).not.toBe(firstPid);
    expect(alive(firstPid)).toBe(false);

    client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    await client.connect();
    expect(await client.get("routilux:harness")).toBe("kept");
    client.disconnect();
    client = null;

    const { pid, dir } = redis;
    await redis.stop();
    redis = null;
    expect(alive(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });

  it("after kill (SIGKILL) a restart brings the same data back", async () => {
    redis = await startRedis();
    client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    await client.connect();
    await client.rpush("routilux:list", "a", "b");
    client.disconnect();
    client = null;
    redis.kill();
    await redis.restart();
    client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    await client.connect();
    expect(await client.lrange("routilux:list", 0, -1)).toEqual(["a", "b"]);
  });
});
