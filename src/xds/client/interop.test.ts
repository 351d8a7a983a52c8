// The client against crema's own ADS server (src/xds/server), both protocols, end to end.
import { afterEach, describe, expect, it } from "vitest";
import { cluster, endpoints, startHarness } from "../server/test-support.ts";
import { CDS, EDS, LDS, listener, RecordingHandler, testClient } from "./test-support.ts";
import type { ResourceUpdate } from "./types.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Tracks the names of a type's accepted resources, whatever the protocol. */
function track(names: Set<string>, update: ResourceUpdate): Set<string> {
  if (update.full) names.clear();
  for (const name of update.removed) names.delete(name);
  for (const name of update.added.keys()) names.add(name);
  return names;
}

for (const protocol of ["sotw", "delta"] as const) {
  describe(`XdsClient with crema's AdsServer (${protocol})`, () => {
    it("follows clusters to their endpoints, ACKs pushes and NACKs rejected ones", async () => {
      const h = await startHarness();
      cleanups.push(() => h.stop());
      const { client } = testClient(h.address, protocol);
      cleanups.push(() => client.close());
      h.source.set(CDS, "c1", cluster("c1"));
      h.source.set(EDS, "c1", endpoints("c1", 9001));
      h.source.set(LDS, "l1", listener("l1"));

      const clusters = new Set<string>();
      const cds = new RecordingHandler();
      cds.onApply = (update) => client.setResourceNames(EDS, new Set(track(clusters, update)));
      const eds = new RecordingHandler();
      const lds = new RecordingHandler();
      client.watch(CDS, cds);
      client.watch(EDS, eds);
      client.watch(LDS, lds);
      client.start();

      expect([...(await cds.updates.next()).added.keys()]).toEqual(["c1"]);
      const first = await eds.updates.next();
      expect(first.added).toEqual(new Map([["c1", endpoints("c1", 9001)]]));
      expect([...(await lds.updates.next()).added.keys()]).toEqual(["l1"]);
      await h.events.waitFor((e) => e.kind === "ack" && e.typeUrl === EDS);

      h.source.set(CDS, "c2", cluster("c2"));
      h.source.set(EDS, "c2", endpoints("c2", 9002));
      h.ads.push();
      const second = await cds.updates.next();
      expect([...second.added.keys()]).toEqual(protocol === "sotw" ? ["c1", "c2"] : ["c2"]);
      expect((await eds.updates.next()).added.has("c2")).toBe(true);

      lds.answerNext(["l2: not today"]);
      h.source.set(LDS, "l2", listener("l2", 81));
      h.ads.push();
      const nack = await h.events.waitFor((e) => e.kind === "nack" && e.typeUrl === LDS);
      expect(nack).toMatchObject({ message: "l2: not today" });
      const status = client.status().perType.get(LDS);
      expect(status?.lastError).toBe("l2: not today");
      expect(status?.resources).toBe(1);
    });
  });
}
