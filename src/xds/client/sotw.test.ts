// SotW ADS from the client side, against a scripted server: requests, ACK/NACK, names, removals.
import { afterEach, describe, expect, it } from "vitest";
import { encodeResource } from "../resource-codec.ts";
import {
  CDS,
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
import type { XdsClient } from "./xds-client.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup() {
  const server = await FakeAdsServer.start();
  const t = testClient(server.address, "sotw");
  cleanups.push(
    () => server.stop(),
    () => t.client.close(),
  );
  return { server, ...t };
}

function names(client: XdsClient, typeUrl: string) {
  return client.status().perType.get(typeUrl);
}

describe("XdsClient (SotW)", () => {
  it("sends the node on the first request and ACKs an accepted response", async () => {
    const { server, client, events } = await setup();
    const cds = new RecordingHandler();
    const lds = new RecordingHandler();
    client.watch(LDS, lds);
    client.watch(CDS, cds);
    client.start();
    const stream = await server.sotw.next();
    // Clusters before listeners (Envoy's order); the node only on the stream's first request.
    expect(sotwFields(await stream.next())).toEqual({
      version_info: "",
      resource_names: [],
      type_url: CDS,
      response_nonce: "",
      node: NODE,
    });
    expect(sotwFields(await stream.next())).toEqual({
      version_info: "",
      resource_names: [],
      type_url: LDS,
      response_nonce: "",
    });
    await events.next("connected");

    stream.send(sotwResponse(LDS, "v1", "n1", [listener("a"), listener("b", 8081)]));
    const update = await lds.updates.next();
    expect(update.full).toBe(true);
    expect(update.version).toBe("v1");
    expect(update.added).toEqual(
      new Map([
        ["a", listener("a")],
        ["b", listener("b", 8081)],
      ]),
    );
    expect(update.removed).toEqual([]);
    expect(update.versions).toEqual(
      new Map([
        ["a", "v1"],
        ["b", "v1"],
      ]),
    );
    expect(sotwFields(await stream.next())).toEqual({
      version_info: "v1",
      resource_names: [],
      type_url: LDS,
      response_nonce: "n1",
    });
    expect(await events.next("update")).toEqual([LDS, "v1"]);
    const status = client.status();
    expect(status.connected).toBe(true);
    expect(status.perType.get(LDS)).toMatchObject({ version: "v1", nonce: "n1", resources: 2 });
    expect(status.perType.get(LDS)?.lastError).toBeUndefined();
  });

  it("NACKs with every error and the previous version, and keeps the accepted state", async () => {
    const { server, client, events } = await setup();
    const lds = new RecordingHandler();
    client.watch(LDS, lds);
    client.start();
    const stream = await server.sotw.next();
    await stream.next();
    stream.send(sotwResponse(LDS, "v1", "n1", [listener("a"), listener("b")]));
    await stream.next(); // ACK v1

    lds.answerNext(["listener a: bad port", "listener c: no filter chain"]);
    stream.send(sotwResponse(LDS, "v2", "n2", [listener("a"), listener("c")]));
    expect(sotwFields(await stream.next())).toEqual({
      version_info: "v1",
      resource_names: [],
      type_url: LDS,
      response_nonce: "n2",
      error_detail: { code: 3, message: "listener a: bad port\nlistener c: no filter chain" },
    });
    expect(await events.next("nack")).toEqual([
      LDS,
      "v2",
      ["listener a: bad port", "listener c: no filter chain"],
    ]);
    expect(names(client, LDS)).toMatchObject({
      version: "v1",
      nonce: "n2",
      lastError: "listener a: bad port\nlistener c: no filter chain",
    });

    lds.answerNext(new Error("handler exploded"));
    stream.send(sotwResponse(LDS, "v3", "n3", [listener("a")]));
    expect(sotwFields(await stream.next())).toMatchObject({
      version_info: "v1",
      response_nonce: "n3",
      error_detail: { code: 3, message: "handler exploded" },
    });

    // Removals are computed against the last accepted set (a, b), not the rejected ones.
    stream.send(sotwResponse(LDS, "v4", "n4", [listener("a")]));
    await lds.updates.next();
    await lds.updates.next();
    const update = await lds.updates.next();
    expect([...update.added.keys()]).toEqual(["a"]);
    expect(update.removed).toEqual(["b"]);
    expect(sotwFields(await stream.next())).toEqual({
      version_info: "v4",
      resource_names: [],
      type_url: LDS,
      response_nonce: "n4",
    });
    expect(names(client, LDS)?.lastError).toBeUndefined();
  });

  it("subscribes to the names given to setResourceNames, with the latest nonce", async () => {
    const { server, client } = await setup();
    const lds = new RecordingHandler();
    const rds = new RecordingHandler();
    client.watch(LDS, lds);
    client.watch(RDS, rds);
    client.start();
    const stream = await server.sotw.next();
    expect((await stream.next()).type_url).toBe(LDS); // RDS names nothing yet: no request

    // A burst of changes goes out as one request.
    client.setResourceNames(RDS, new Set(["r9"]));
    client.setResourceNames(RDS, new Set(["r2", "r1"]));
    expect(sotwFields(await stream.next())).toEqual({
      version_info: "",
      resource_names: ["r1", "r2"],
      type_url: RDS,
      response_nonce: "",
    });
    stream.send(sotwResponse(RDS, "v1", "n1", [route("r1")]));
    const first = await rds.updates.next();
    expect(first).toMatchObject({ full: false, removed: [], version: "v1" });
    expect([...first.added.keys()]).toEqual(["r1"]);
    expect(sotwFields(await stream.next())).toEqual({
      version_info: "v1",
      resource_names: ["r1", "r2"],
      type_url: RDS,
      response_nonce: "n1",
    });

    client.setResourceNames(RDS, new Set(["r2", "r3"]));
    expect(sotwFields(await stream.next())).toEqual({
      version_info: "v1",
      resource_names: ["r2", "r3"],
      type_url: RDS,
      response_nonce: "n1",
    });
    // r1 is no longer subscribed: a late copy of it is left out of the update.
    stream.send(sotwResponse(RDS, "v2", "n2", [route("r1"), route("r2")]));
    const second = await rds.updates.next();
    expect([...second.added.keys()]).toEqual(["r2"]);
    expect(names(client, RDS)).toMatchObject({ names: ["r2", "r3"], resources: 1 });
    expect(sotwFields(await stream.next())).toMatchObject({ version_info: "v2" });

    // Names changed by a handler while it applies go out with the ACK, not separately.
    rds.onApply = () => client.setResourceNames(RDS, new Set(["r4"]));
    stream.send(sotwResponse(RDS, "v3", "n3", [route("r2")]));
    expect(sotwFields(await stream.next())).toEqual({
      version_info: "v3",
      resource_names: ["r4"],
      type_url: RDS,
      response_nonce: "n3",
    });
    stream.send(sotwResponse(LDS, "v1", "n4", []));
    expect(sotwFields(await stream.next())).toMatchObject({ type_url: LDS, response_nonce: "n4" });
  });

  it("treats a missing listener as removed but a missing route as unchanged", async () => {
    const { server, client } = await setup();
    const lds = new RecordingHandler();
    const rds = new RecordingHandler();
    client.watch(LDS, lds);
    client.watch(RDS, rds);
    client.setResourceNames(RDS, new Set(["r1", "r2"]));
    client.start();
    const stream = await server.sotw.next();
    await stream.next();
    await stream.next();

    stream.send(sotwResponse(LDS, "l1", "n1", [listener("a"), listener("b")]));
    await lds.updates.next();
    stream.send(sotwResponse(LDS, "l2", "n2", [listener("a")]));
    const ldsUpdate = await lds.updates.next();
    expect(ldsUpdate).toMatchObject({ full: true, removed: ["b"] });

    stream.send(sotwResponse(RDS, "r1", "n3", [route("r1"), route("r2")]));
    await rds.updates.next();
    stream.send(sotwResponse(RDS, "r2", "n4", [route("r1", "example.com")]));
    const rdsUpdate = await rds.updates.next();
    expect(rdsUpdate).toMatchObject({ full: false, removed: [] });
    expect([...rdsUpdate.added.keys()]).toEqual(["r1"]);
    await stream.next();
    await stream.next();
    await stream.next();
    expect(sotwFields(await stream.next())).toMatchObject({ type_url: RDS, version_info: "r2" });
    expect(names(client, LDS)?.resources).toBe(1);
    expect(names(client, RDS)?.resources).toBe(2);
  });

  it("NACKs a response whose resources do not decode, without asking the handler", async () => {
    const { server, client, events } = await setup();
    const lds = new RecordingHandler();
    const odd = new RecordingHandler();
    const ODD = "type.googleapis.com/crema.test.NoSuchType";
    client.watch(LDS, lds);
    client.watch(ODD, odd, { wildcard: true });
    client.start();
    const stream = await server.sotw.next();
    await stream.next();
    await stream.next();

    const response = sotwResponse(LDS, "v1", "n1", [{ address: listener("x").address! }]);
    response.resources.unshift(
      { type_url: LDS, value: Uint8Array.from([0x0a, 0xff, 0xff]) },
      encodeResource(CDS, { name: "c" }),
    );
    stream.send(response);
    const nack = sotwFields(await stream.next());
    expect(nack).toMatchObject({ version_info: "", response_nonce: "n1", type_url: LDS });
    const lines = (nack.error_detail as { message: string }).message.split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^resource #0: cannot decode: /);
    expect(lines[1]).toBe(`resource #1: type ${CDS} in a response for ${LDS}`);
    expect(lines[2]).toBe("resource #2: the resource has no name");
    expect(lds.updates.size).toBe(0);
    expect((await events.next("nack"))[2]).toHaveLength(3);

    // A type the codec does not know: NACKed with the codec's error, never a crash.
    stream.send({
      version_info: "1",
      resources: [{ type_url: ODD, value: Uint8Array.from([]) }],
      type_url: ODD,
      nonce: "n2",
    });
    expect(sotwFields(await stream.next())).toMatchObject({
      type_url: ODD,
      response_nonce: "n2",
      error_detail: { code: 3, message: expect.stringContaining("CREMA_XDS_UNKNOWN_TYPE") },
    });

    // A response for a type nobody watches is ignored (not answered).
    stream.send(sotwResponse(CDS, "v1", "n3", [{ name: "c" }]));
    stream.send(sotwResponse(LDS, "v2", "n4", [listener("a")]));
    expect(sotwFields(await stream.next())).toMatchObject({ type_url: LDS, response_nonce: "n4" });
    expect(odd.updates.size).toBe(0);
  });
});
