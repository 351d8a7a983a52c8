// Incremental ADS: initial state, changes, removals, reconnects with known versions, unsubscribes.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { DeltaDiscoveryResponse } from "../discovery-messages.ts";
import {
  CDS,
  cluster,
  decoded,
  deltaRequest,
  EDS,
  endpoints,
  type Harness,
  startHarness,
} from "./test-support.ts";

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
  for (const name of ["a", "b"]) h.source.set(CDS, name, cluster(name));
  h.source.set(EDS, "a", endpoints("a", 1));
});
afterEach(() => h.stop());

const names = (r: DeltaDiscoveryResponse) => r.resources.map((x) => x.name);
const versions = (r: DeltaDiscoveryResponse) =>
  Object.fromEntries(r.resources.map((x) => [x.name, x.version]));

async function wildcardCds(initial: Record<string, string> = {}) {
  const { stream, reader } = h.delta();
  stream.write(deltaRequest(CDS, { node: { id: "proxy-d" }, initial_resource_versions: initial }));
  return { stream, reader, first: await reader.next() };
}

async function acked(stream: { write(m: unknown): boolean }, response: DeltaDiscoveryResponse) {
  stream.write(deltaRequest(response.type_url, { response_nonce: response.nonce }));
  await h.events.waitFor((e) => e.kind === "ack" && e.nonce === response.nonce);
}

describe("delta ADS", () => {
  it("sends every wildcard resource with a content version at first", async () => {
    const { first } = await wildcardCds();
    expect(first).toMatchObject({ type_url: CDS, removed_resources: [] });
    expect(first.system_version_info).toBe(`v${h.source.version}`);
    expect(names(first)).toEqual(["a", "b"]);
    expect(Object.values(versions(first))).toEqual([
      expect.stringMatching(/^[0-9a-f]{16}$/),
      expect.stringMatching(/^[0-9a-f]{16}$/),
    ]);
    expect(Object.keys(decoded(first.resources.map((r) => r.resource!)))).toEqual(["a", "b"]);
    expect(h.ads.connections()[0]).toMatchObject({ protocol: "delta", nodeId: "proxy-d" });
  });

  it("sends only what changed, then removals", async () => {
    const { stream, reader, first } = await wildcardCds();
    await acked(stream, first);
    h.source.set(CDS, "a", cluster("a", "2s"));
    h.source.set(CDS, "c", cluster("c"));
    h.ads.push();
    const change = await reader.next();
    expect(names(change)).toEqual(["a", "c"]);
    expect(change.removed_resources).toEqual([]);
    expect(versions(change).a).not.toBe(versions(first).a);
    await acked(stream, change);

    h.source.delete(CDS, "b");
    h.ads.push();
    const removal = await reader.next();
    expect(removal.resources).toEqual([]);
    expect(removal.removed_resources).toEqual(["b"]);

    h.source.set(EDS, "a", endpoints("a", 2)); // nothing CDS-related changed: no response
    h.ads.push();
    h.source.set(CDS, "d", cluster("d"));
    h.ads.push();
    expect(names(await reader.next())).toEqual(["d"]);
  });

  it("honours initial_resource_versions on reconnect", async () => {
    const first = (await wildcardCds()).first;
    const known = versions(first);
    h.source.set(CDS, "b", cluster("b", "3s"));
    h.source.set(CDS, "c", cluster("c"));
    const again = await wildcardCds({ ...known, gone: "123" });
    expect(names(again.first)).toEqual(["b", "c"]);
    expect(again.first.removed_resources).toEqual(["gone"]);

    const upToDate = await wildcardCds(versions(again.first));
    expect(upToDate.first.resources.map((r) => r.name)).toEqual(["a"]);
  });

  it("subscribes names, reports missing ones removed, and forgets unsubscribed ones", async () => {
    const { stream, reader } = h.delta();
    stream.write(
      deltaRequest(EDS, { node: { id: "proxy-d" }, resource_names_subscribe: ["a", "nope"] }),
    );
    const first = await reader.next();
    expect(names(first)).toEqual(["a"]);
    expect(first.removed_resources).toEqual(["nope"]);
    expect(h.ads.connections()[0]?.types[0]).toMatchObject({
      wildcard: false,
      names: ["a", "nope"],
    });

    stream.write(
      deltaRequest(EDS, { response_nonce: first.nonce, resource_names_unsubscribe: ["a"] }),
    );
    await h.events.waitFor((e) => e.kind === "ack" && e.nonce === first.nonce);
    h.source.set(EDS, "a", endpoints("a", 5));
    h.ads.push(); // "a" is no longer subscribed: nothing
    h.source.set(EDS, "nope", endpoints("nope", 6));
    h.ads.push();
    const appeared = await reader.next();
    expect(names(appeared)).toEqual(["nope"]);
    expect(appeared.removed_resources).toEqual([]);

    stream.write(deltaRequest(EDS, { resource_names_subscribe: ["a"] })); // no nonce: still applied
    expect(names(await reader.next())).toEqual(["a"]);
  });

  it("sends neither an update nor a removal for a resource that stops encoding", async () => {
    const { stream, reader, first } = await wildcardCds();
    await acked(stream, first);
    // An Any naming a type the encoder does not know.
    const unknownAny = { name: "tls", typed_config: { "@type": "type.googleapis.com/no.Such" } };
    h.source.set(CDS, "a", { ...cluster("a", "2s"), transport_socket: unknownAny });
    h.source.set(CDS, "c", cluster("c"));
    h.ads.push();
    const change = await reader.next();
    expect(names(change)).toEqual(["c"]);
    expect(change.removed_resources).toEqual([]);
    const error = await h.events.waitFor((e) => e.kind === "encode-error");
    expect(error).toMatchObject({
      nodeId: "proxy-d",
      resource: "a",
      message: expect.stringContaining("no.Such"),
      keptPrevious: true,
    });
    await acked(stream, change);

    h.source.delete(CDS, "b"); // other removals still go out, without "a"
    h.ads.push();
    const removal = await reader.next();
    expect(removal.resources).toEqual([]);
    expect(removal.removed_resources).toEqual(["b"]);

    h.source.set(CDS, "a", cluster("a", "3s"));
    h.ads.push();
    const fixed = await reader.next();
    expect(names(fixed)).toEqual(["a"]);
    expect(versions(fixed).a).not.toBe(versions(first).a);
  });

  it("does not report a subscribed resource that never encoded as removed", async () => {
    h.source.set(EDS, "bad", { cluster_name: "bad", no_such_field: 1 });
    const { stream, reader } = h.delta();
    stream.write(
      deltaRequest(EDS, { node: { id: "proxy-d" }, resource_names_subscribe: ["a", "bad"] }),
    );
    const first = await reader.next();
    expect(names(first)).toEqual(["a"]);
    expect(first.removed_resources).toEqual([]);
    const error = await h.events.waitFor((e) => e.kind === "encode-error");
    expect(error).toMatchObject({ resource: "bad", keptPrevious: false });
  });

  it("records a delta NACK and does not resend what was rejected", async () => {
    const { stream, reader, first } = await wildcardCds();
    stream.write(
      deltaRequest(CDS, {
        response_nonce: first.nonce,
        error_detail: { code: 3, message: "no thanks" },
      }),
    );
    const nack = await h.events.waitFor((e) => e.kind === "nack");
    expect(nack).toMatchObject({ nonce: first.nonce, message: "no thanks" });
    h.ads.push();
    h.source.set(CDS, "b", cluster("b", "5s"));
    h.ads.push();
    expect(names(await reader.next())).toEqual(["b"]);
  });
});
