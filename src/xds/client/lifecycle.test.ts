// Stream lifecycle: reconnect with back-off after failures and server restarts, resubscription, close().
import { afterEach, describe, expect, it } from "vitest";
import {
  FakeAdsServer,
  LDS,
  listener,
  NODE,
  RDS,
  RecordingHandler,
  route,
  sotwFields,
  sotwResponse,
  testClient,
} from "./test-support.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup() {
  const servers = [await FakeAdsServer.start()];
  const t = testClient(servers[0]!.address, "sotw");
  cleanups.push(
    () => {
      for (const s of servers) s.stop();
    },
    () => t.client.close(),
  );
  return { servers, ...t };
}

describe("XdsClient lifecycle", () => {
  it("reconnects to a restarted server after the back-off and resubscribes", async () => {
    const { servers, client, clock, events } = await setup();
    const lds = new RecordingHandler();
    const rds = new RecordingHandler();
    client.watch(LDS, lds);
    client.watch(RDS, rds);
    client.setResourceNames(RDS, new Set(["r1"]));
    client.start();
    const first = servers[0]!;
    const stream = await first.sotw.next();
    await stream.next();
    await stream.next();
    stream.send(sotwResponse(LDS, "l1", "n1", [listener("a")]));
    stream.send(sotwResponse(RDS, "r1", "n2", [route("r1")]));
    await stream.next();
    await stream.next();
    await lds.updates.next();
    await rds.updates.next();
    await events.next("connected");

    first.stop();
    // forceShutdown resets the streams: the client sees CANCELLED (or UNAVAILABLE).
    expect(await events.next("disconnected")).toEqual([expect.stringMatching(/^[A-Z_]+: /)]);
    const [retry] = await events.next("retry");
    // random 0.5 → three quarters of the first bound (100 ms).
    expect(retry).toMatchObject({ attempt: 1, delayMs: 75 });
    expect(client.status().connected).toBe(false);
    expect(clock.pendingTimers()).toBe(1);
    clock.advance(74);
    expect(clock.pendingTimers()).toBe(1); // not yet
    clock.advance(1);
    expect(clock.pendingTimers()).toBe(0); // the new attempt waits for the server

    const restarted = await FakeAdsServer.start(first.port);
    servers.push(restarted);
    const resumed = await restarted.sotw.next();
    expect(sotwFields(await resumed.next())).toEqual({
      version_info: "l1",
      resource_names: [],
      type_url: LDS,
      response_nonce: "",
      node: NODE,
    });
    expect(sotwFields(await resumed.next())).toEqual({
      version_info: "r1",
      resource_names: ["r1"],
      type_url: RDS,
      response_nonce: "",
    });
    await events.next("connected");
    // The handlers heard nothing while the server was away: the last config stays in force.
    expect(lds.updates.size).toBe(0);
    expect(rds.updates.size).toBe(0);
    expect(client.status().perType.get(LDS)).toMatchObject({ version: "l1", nonce: "" });
  });

  it("backs off exponentially while streams fail, and starts over after a response", async () => {
    const { servers, client, clock, events } = await setup();
    client.watch(LDS, new RecordingHandler());
    client.start();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const stream = await servers[0]!.sotw.next();
      await stream.next();
      stream.fail();
      const [retry] = await events.next("retry");
      delays.push(retry.delayMs);
      clock.advance(retry.delayMs);
    }
    expect(delays).toEqual([75, 150, 300, 600, 750]); // bounds 100, 200, 400, 800, max 1000

    const stream = await servers[0]!.sotw.next();
    await stream.next();
    stream.send(sotwResponse(LDS, "v1", "n1", []));
    await stream.next();
    stream.fail();
    expect((await events.next("retry"))[0]).toMatchObject({ attempt: 1, delayMs: 75 });
  });

  it("close() ends the stream, cancels a pending retry and stops reconnecting", async () => {
    const { servers, client, clock, events } = await setup();
    client.watch(LDS, new RecordingHandler());
    client.start();
    let stream = await servers[0]!.sotw.next();
    await stream.next();
    await events.next("connected");
    stream.fail(undefined, "try again");
    expect(await events.next("disconnected")).toEqual(["UNAVAILABLE: try again"]);
    const [retry] = await events.next("retry");
    clock.advance(retry.delayMs);
    stream = await servers[0]!.sotw.next();
    await stream.next();
    await events.next("connected");

    const closing = client.close();
    expect(client.close()).toBe(closing);
    await closing;
    await stream.closedByClient;
    expect(client.status().connected).toBe(false);
    expect(clock.pendingTimers()).toBe(0);
    expect(() => client.watch(RDS, new RecordingHandler())).toThrow(/after close/);
    expect(events.queues.get("disconnected")!.size).toBe(0);
    expect(events.queues.get("retry")!.size).toBe(0);

    // Closing during a back-off cancels the retry.
    const other = testClient(servers[0]!.address, "sotw");
    cleanups.push(() => other.client.close());
    other.client.watch(LDS, new RecordingHandler());
    other.client.start();
    const s = await servers[0]!.sotw.next();
    await s.next();
    s.fail();
    await other.events.next("retry");
    expect(other.clock.pendingTimers()).toBe(1);
    await other.client.close();
    expect(other.clock.pendingTimers()).toBe(0);
    other.clock.advance(10_000);
    expect(other.client.status().connected).toBe(false);
  });

  it("rejects misuse of the API", async () => {
    const { client } = await setup();
    client.watch(LDS, new RecordingHandler());
    expect(() => client.watch(LDS, new RecordingHandler())).toThrow(/already watched/);
    expect(() => client.setResourceNames(LDS, new Set(["a"]))).toThrow(/wildcard/);
    expect(() => client.setResourceNames(RDS, new Set(["a"]))).toThrow(/before watch/);
  });
});
