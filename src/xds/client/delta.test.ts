// Delta ADS from the client side, against a scripted server: subscribe diffs, removals, resumption.
import { afterEach, describe, expect, it } from "vitest";
import {
  deltaFields,
  deltaResponse,
  FakeAdsServer,
  LDS,
  listener,
  NODE,
  RDS,
  RecordingHandler,
  route,
  testClient,
} from "./test-support.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup() {
  const server = await FakeAdsServer.start();
  const t = testClient(server.address, "delta");
  cleanups.push(
    () => server.stop(),
    () => t.client.close(),
  );
  return { server, ...t };
}

function request(fields: Record<string, unknown>) {
  return {
    resource_names_subscribe: [],
    resource_names_unsubscribe: [],
    initial_resource_versions: {},
    response_nonce: "",
    ...fields,
  };
}

describe("XdsClient (delta)", () => {
  it("subscribes, ACKs per response, applies removals and unsubscribes", async () => {
    const { server, client, events } = await setup();
    const lds = new RecordingHandler();
    const rds = new RecordingHandler();
    client.watch(LDS, lds);
    client.watch(RDS, rds);
    client.start();
    const stream = await server.delta.next();
    expect(deltaFields(await stream.next())).toEqual(request({ type_url: LDS, node: NODE }));

    client.setResourceNames(RDS, new Set(["r2", "r1"]));
    expect(deltaFields(await stream.next())).toEqual(
      request({ type_url: RDS, resource_names_subscribe: ["r1", "r2"] }),
    );

    const a = { version: "1", json: listener("a") };
    const b = { version: "1", json: listener("b", 81) };
    stream.send(deltaResponse(LDS, "n1", [a, b], [], "s1"));
    const first = await lds.updates.next();
    expect(first).toMatchObject({ full: false, removed: [], version: "s1" });
    expect(first.added).toEqual(
      new Map([
        ["a", a.json],
        ["b", b.json],
      ]),
    );
    expect(first.versions).toEqual(
      new Map([
        ["a", "1"],
        ["b", "1"],
      ]),
    );
    expect(deltaFields(await stream.next())).toEqual(
      request({ type_url: LDS, response_nonce: "n1" }),
    );
    expect(await events.next("update")).toEqual([LDS, "s1"]);

    stream.send(deltaResponse(LDS, "n2", [{ version: "2", json: listener("b", 82) }], ["a"]));
    const second = await lds.updates.next();
    expect([...second.added.keys()]).toEqual(["b"]);
    expect(second.removed).toEqual(["a"]);
    expect(deltaFields(await stream.next())).toEqual(
      request({ type_url: LDS, response_nonce: "n2" }),
    );
    expect(client.status().perType.get(LDS)).toMatchObject({ resources: 1, nonce: "n2" });

    stream.send(deltaResponse(RDS, "n3", [{ version: "7", json: route("r1") }]));
    await rds.updates.next();
    await stream.next(); // ACK
    client.setResourceNames(RDS, new Set(["r2", "r3"]));
    expect(deltaFields(await stream.next())).toEqual(
      request({
        type_url: RDS,
        resource_names_subscribe: ["r3"],
        resource_names_unsubscribe: ["r1"],
      }),
    );
    expect(client.status().perType.get(RDS)).toMatchObject({ names: ["r2", "r3"], resources: 0 });
  });

  it("NACKs with the nonce and every error, and the answer carries pending name changes", async () => {
    const { server, client, events } = await setup();
    const rds = new RecordingHandler();
    client.watch(RDS, rds);
    client.setResourceNames(RDS, new Set(["r1"]));
    client.start();
    const stream = await server.delta.next();
    await stream.next();

    rds.answerNext(["r1: no virtual hosts", "r1: bad domain"]);
    rds.onApply = () => client.setResourceNames(RDS, new Set(["r1", "r2"]));
    stream.send(deltaResponse(RDS, "n1", [{ version: "1", json: route("r1") }]));
    expect(deltaFields(await stream.next())).toEqual(
      request({
        type_url: RDS,
        response_nonce: "n1",
        resource_names_subscribe: ["r2"],
        error_detail: { code: 3, message: "r1: no virtual hosts\nr1: bad domain" },
      }),
    );
    expect(await events.next("nack")).toEqual([
      RDS,
      "",
      ["r1: no virtual hosts", "r1: bad domain"],
    ]);
    expect(client.status().perType.get(RDS)).toMatchObject({ resources: 0 });

    // A body that does not decode is a NACK too.
    rds.onApply = undefined;
    const bad = deltaResponse(RDS, "n2", [{ version: "2", json: route("r2") }]);
    bad.resources[0]!.resource = { type_url: RDS, value: Uint8Array.from([0x0a, 0xff]) };
    stream.send(bad);
    const nack = deltaFields(await stream.next());
    expect(nack).toMatchObject({ response_nonce: "n2" });
    expect(nack.error_detail).toMatchObject({
      code: 3,
      message: expect.stringMatching(/^resource "r2": cannot decode: /),
    });
    expect(rds.updates.size).toBe(1);
  });

  it("resumes after a reconnect with the accepted versions and current subscriptions", async () => {
    const { server, client, clock, events } = await setup();
    const lds = new RecordingHandler();
    const rds = new RecordingHandler();
    client.watch(RDS, rds);
    client.watch(LDS, lds);
    client.setResourceNames(RDS, new Set(["r1", "r2"]));
    client.start();
    let stream = await server.delta.next();
    await stream.next();
    await stream.next();
    stream.send(deltaResponse(LDS, "n1", [{ version: "4", json: listener("a") }]));
    await stream.next();
    stream.send(deltaResponse(RDS, "n2", [{ version: "9", json: route("r1") }]));
    await stream.next();
    lds.answerNext(["rejected"]);
    stream.send(deltaResponse(LDS, "n3", [{ version: "5", json: listener("a", 99) }]));
    await stream.next();
    await lds.updates.next();
    await lds.updates.next();
    await rds.updates.next();

    stream.fail();
    const [retry] = await events.next("retry");
    // Names changed while disconnected are what the new stream subscribes to.
    client.setResourceNames(RDS, new Set(["r1", "r3"]));
    clock.advance(retry.delayMs);
    stream = await server.delta.next();
    // Listeners before routes; initial versions are the accepted ones (not the NACKed "5").
    expect(deltaFields(await stream.next())).toEqual(
      request({ type_url: LDS, initial_resource_versions: { a: "4" }, node: NODE }),
    );
    expect(deltaFields(await stream.next())).toEqual(
      request({
        type_url: RDS,
        resource_names_subscribe: ["r1", "r3"],
        initial_resource_versions: { r1: "9" },
      }),
    );
    expect(lds.updates.size).toBe(0);
    expect(rds.updates.size).toBe(0);
  });
});
