// State-of-the-world ADS: subscriptions, ACK/NACK, stale nonces and pushes over a real gRPC stream.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ack,
  CDS,
  cluster,
  decoded,
  EDS,
  endpoints,
  type Harness,
  LDS,
  namesOf,
  request,
  startHarness,
} from "./test-support.ts";

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
  for (const name of ["a", "b"]) h.source.set(CDS, name, cluster(name));
  for (const [name, port] of [
    ["a", 1],
    ["b", 2],
    ["c", 3],
  ] as const)
    h.source.set(EDS, name, endpoints(name, port));
});
afterEach(() => h.stop());

/** Opens a stream, takes wildcard CDS and EDS for `names`, and ACKs both. */
async function subscribed(names: string[], node = "proxy-1") {
  const { stream, reader } = h.sotw();
  stream.write(request(CDS, [], { node: { id: node } }));
  const cds = await reader.next();
  stream.write(ack(cds, []));
  stream.write(request(EDS, names));
  const eds = await reader.next();
  stream.write(ack(eds, names));
  await h.events.waitFor((e) => e.kind === "ack" && e.typeUrl === EDS && e.nonce === eds.nonce);
  return { stream, reader, cds, eds };
}

describe("SotW ADS", () => {
  it("serves wildcard CDS and named EDS, only the names that exist", async () => {
    const { stream, reader } = h.sotw();
    stream.write(request(CDS, [], { node: { id: "proxy-1" } }));
    const cds = await reader.next();
    expect(cds.type_url).toBe(CDS);
    expect(cds.version_info).toBe(`v${h.source.version}`);
    expect(namesOf(cds.resources)).toEqual(["a", "b"]);
    stream.write(ack(cds, []));
    stream.write(request(EDS, ["a", "missing"]));
    const eds = await reader.next();
    expect(decoded(eds.resources)).toEqual({ a: expect.objectContaining({ cluster_name: "a" }) });

    const [status] = h.ads.connections();
    expect(status).toMatchObject({ nodeId: "proxy-1", key: "proxy-1", protocol: "sotw" });
    expect(status?.types).toMatchObject([
      { typeUrl: CDS, wildcard: true, names: [], awaitingAnswer: false },
      { typeUrl: EDS, wildcard: false, names: ["a", "missing"], awaitingAnswer: true },
    ]);
    expect(status?.types[0]?.lastAck).toMatchObject({
      version: cds.version_info,
      nonce: cds.nonce,
    });
    expect(status?.types[1]?.lastSent).toMatchObject({ nonce: eds.nonce, resources: 1 });
  });

  it("pushes changed types in warming order after an ACK, and nothing when nothing changed", async () => {
    const { stream, reader, eds } = await subscribed(["a"]);
    h.source.set(CDS, "c", cluster("c"));
    h.source.set(EDS, "a", endpoints("a", 9));
    h.ads.push();
    const cds2 = await reader.next();
    expect(cds2.type_url).toBe(CDS);
    expect(namesOf(cds2.resources)).toEqual(["a", "b", "c"]);
    const eds2 = await reader.next();
    expect(eds2.type_url).toBe(EDS);
    expect(eds2.nonce).not.toBe(eds.nonce);
    expect(JSON.stringify(decoded(eds2.resources).a)).toContain('"port_value":9');

    h.source.set(EDS, "b", endpoints("b", 7)); // not subscribed: EDS for this proxy is unchanged
    h.ads.push();
    stream.write(ack(cds2, []));
    stream.write(request(EDS, ["a", "b"], { response_nonce: eds2.nonce }));
    const next = await reader.next(); // the answer to the new names, not a push
    expect(next.type_url).toBe(EDS);
    expect(namesOf(next.resources)).toEqual(["a", "b"]);

    const acked = await h.events.waitFor((e) => e.kind === "ack" && e.nonce === cds2.nonce);
    expect(acked).toMatchObject({ typeUrl: CDS, version: cds2.version_info });
    expect(acked.kind === "ack" && acked.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("pushes only the changed EDS assignments when the subscription is unchanged", async () => {
    const { stream, reader } = await subscribed(["a", "b", "c"]);
    h.source.set(EDS, "b", endpoints("b", 5));
    h.ads.push();
    const push = await reader.next();
    expect(push.type_url).toBe(EDS);
    expect(namesOf(push.resources)).toEqual(["b"]);
    stream.write(ack(push, ["a", "b", "c"]));
    // New names are answered with the complete set, as the client asked for them.
    stream.write(request(EDS, ["a", "b"], { response_nonce: push.nonce }));
    expect(namesOf((await reader.next()).resources)).toEqual(["a", "b"]);
  });

  it("records a NACK with its message and does not resend the rejected version", async () => {
    const { stream, reader } = await subscribed(["a"]);
    h.source.set(EDS, "a", endpoints("a", 8));
    h.ads.push();
    const rejected = await reader.next();
    stream.write(
      request(EDS, ["a"], {
        response_nonce: rejected.nonce,
        error_detail: { code: 3, message: "bad endpoints" },
      }),
    );
    const nack = await h.events.waitFor((e) => e.kind === "nack");
    expect(nack).toMatchObject({ version: rejected.version_info, message: "bad endpoints" });
    const eds = h.ads.connections()[0]?.types.find((t) => t.typeUrl === EDS);
    expect(eds?.lastNack).toMatchObject({ message: "bad endpoints", nonce: rejected.nonce });
    expect(eds?.awaitingAnswer).toBe(false);

    h.ads.push(); // same content as the rejected response: nothing is sent
    h.source.set(EDS, "a", endpoints("a", 5));
    h.ads.push();
    const fixed = await reader.next();
    expect(fixed.nonce).not.toBe(rejected.nonce);
    expect(JSON.stringify(decoded(fixed.resources).a)).toContain('"port_value":5');
  });

  it("ignores a request with a stale nonce", async () => {
    const { stream, reader, eds } = await subscribed(["a"]);
    h.source.set(EDS, "a", endpoints("a", 4));
    h.ads.push();
    const pushed = await reader.next();
    stream.write(request(EDS, ["a", "b"], { response_nonce: eds.nonce })); // stale: no answer
    stream.write(request(EDS, ["a", "c"], { response_nonce: pushed.nonce }));
    const answer = await reader.next();
    expect(namesOf(answer.resources)).toEqual(["a", "c"]);
    await h.events.waitFor((e) => e.kind === "ack" && e.nonce === pushed.nonce);
  });

  it("unsubscribes and resubscribes", async () => {
    const { stream, reader } = await subscribed(["a", "b"]);
    const last = h.ads.connections()[0]!.types[1]!.lastSent!.nonce;
    stream.write(request(EDS, ["a"], { response_nonce: last }));
    const narrowed = await reader.next();
    expect(namesOf(narrowed.resources)).toEqual(["a"]);
    stream.write(request(EDS, [], { response_nonce: narrowed.nonce })); // nothing wanted: no answer
    await h.events.waitFor((e) => e.kind === "ack" && e.nonce === narrowed.nonce);
    h.source.set(EDS, "a", endpoints("a", 6));
    h.ads.push(); // not subscribed any more: nothing
    expect(h.ads.connections()[0]?.types[1]).toMatchObject({ names: [], wildcard: false });
    stream.write(request(EDS, ["b", "a"], { response_nonce: narrowed.nonce }));
    const again = await reader.next();
    expect(again.type_url).toBe(EDS);
    expect(namesOf(again.resources)).toEqual(["a", "b"]);
  });

  it("treats LDS names as explicit and '*' as wildcard", async () => {
    h.source.set(LDS, "l1", { name: "l1" });
    h.source.set(LDS, "l2", { name: "l2" });
    const { stream, reader } = h.sotw();
    stream.write(request(LDS, ["l1"], { node: { id: "grpc-client" } }));
    const named = await reader.next();
    expect(namesOf(named.resources)).toEqual(["l1"]);
    stream.write(request(LDS, ["*"], { response_nonce: named.nonce }));
    const all = await reader.next();
    expect(namesOf(all.resources)).toEqual(["l1", "l2"]);
    stream.write(request(LDS, [], { response_nonce: all.nonce })); // explicit client: empty = none
    await h.events.waitFor((e) => e.kind === "ack" && e.nonce === all.nonce);
    h.source.set(LDS, "l3", { name: "l3" });
    h.ads.push();
    stream.write(request(LDS, ["l3"], { response_nonce: all.nonce }));
    expect(namesOf((await reader.next()).resources)).toEqual(["l3"]);
    // The nonce repeated on a names-only request is not a second ACK (convergence metrics).
    expect(h.events.events.filter((e) => e.kind === "ack" && e.nonce === all.nonce)).toHaveLength(
      1,
    );
  });

  it("leaves out a resource that never encoded, reports it, and sends the rest", async () => {
    h.source.set(CDS, "broken", { name: "broken", no_such_field: true });
    const { stream, reader } = h.sotw();
    stream.write(request(CDS, [], { node: { id: "proxy-1" } }));
    expect(namesOf((await reader.next()).resources)).toEqual(["a", "b"]);
    const error = await h.events.waitFor((e) => e.kind === "encode-error");
    expect(error).toMatchObject({
      nodeId: "proxy-1",
      typeUrl: CDS,
      resource: "broken",
      message: expect.stringContaining("no_such_field"),
      keptPrevious: false,
    });
  });

  it("keeps serving the last encoding of a resource that stops encoding", async () => {
    const { stream, reader, cds } = await subscribed(["a"]);
    const before = decoded(cds.resources).a;
    expect(before).toMatchObject({ connect_timeout: "1s" });
    h.source.set(CDS, "a", { ...cluster("a", "2s"), no_such_field: true });
    h.source.set(CDS, "c", cluster("c"));
    h.ads.push();
    const cds2 = await reader.next();
    expect(cds2.type_url).toBe(CDS);
    expect(cds2.version_info).toBe(`v${h.source.version}`);
    // Omitting "a" would make the client delete the cluster: it keeps its version-1 content.
    expect(namesOf(cds2.resources)).toEqual(["a", "b", "c"]);
    expect(decoded(cds2.resources).a).toEqual(before);
    const error = await h.events.waitFor((e) => e.kind === "encode-error");
    expect(error).toMatchObject({ resource: "a", typeUrl: CDS, keptPrevious: true });
    const status = h.ads.connections()[0]?.types.find((t) => t.typeUrl === CDS);
    expect(status?.encodeErrors).toEqual([
      { resource: "a", message: expect.stringContaining("no_such_field") },
    ]);

    // Still broken on the next push: served from the last good encoding, reported only once.
    stream.write(ack(cds2, []));
    h.source.set(CDS, "d", cluster("d"));
    h.ads.push();
    const cds3 = await reader.next();
    expect(namesOf(cds3.resources)).toEqual(["a", "b", "c", "d"]);
    expect(decoded(cds3.resources).a).toEqual(before);
    expect(h.events.events.filter((e) => e.kind === "encode-error")).toHaveLength(1);

    h.source.set(CDS, "a", cluster("a", "3s"));
    h.ads.push();
    const fixed = await reader.next();
    expect(decoded(fixed.resources).a).toMatchObject({ connect_timeout: "3s" });
    const after = h.ads.connections()[0]?.types.find((t) => t.typeUrl === CDS);
    expect(after?.encodeErrors).toBeUndefined();
  });

  it("keeps connections independent and pushes only to the ones named", async () => {
    h.source.set(EDS, "a", endpoints("a", 100), "proxy-2");
    const one = await subscribed(["a"], "proxy-1");
    const two = await subscribed(["a"], "proxy-2");
    expect(JSON.stringify(decoded(two.eds.resources).a)).toContain('"port_value":100');
    expect(JSON.stringify(decoded(one.eds.resources).a)).toContain('"port_value":1');
    const ids = h.ads.connections().map((c) => c.id);
    expect(ids).toEqual([expect.stringMatching(/^proxy-1-/), expect.stringMatching(/^proxy-2-/)]);

    h.source.set(CDS, "c", cluster("c"));
    h.ads.push([ids[0]!, "no-such-connection"]);
    expect(namesOf((await one.reader.next()).resources)).toEqual(["a", "b", "c"]);
    h.source.set(CDS, "d", cluster("d"));
    h.ads.push();
    expect(namesOf((await one.reader.next()).resources)).toEqual(["a", "b", "c", "d"]);
    // proxy-2 never saw the first push: its next response is the second one.
    expect(namesOf((await two.reader.next()).resources)).toEqual(["a", "b", "c", "d"]);
  });
});
