import { describe, expect, it } from "vitest";
import { CremaError } from "../base/errors.ts";
import { identityMatches, parseSpiffeId, spiffeId } from "./spiffe.ts";

describe("spiffeId / parseSpiffeId", () => {
  it("builds and parses Istio's workload identity", () => {
    const id = spiffeId("cluster.local", "coffee", "order-service");
    expect(id).toBe("spiffe://cluster.local/ns/coffee/sa/order-service");
    expect(parseSpiffeId(id)).toEqual({
      trustDomain: "cluster.local",
      namespace: "coffee",
      serviceAccount: "order-service",
    });
  });

  it("refuses parts that cannot form a SPIFFE ID", () => {
    expect(() => spiffeId("cluster.local", "a/b", "sa")).toThrow(CremaError);
    expect(() => spiffeId("Cluster.Local", "ns", "sa")).toThrow(/trust domain/);
    expect(() => spiffeId("cluster.local", "ns", "")).toThrow(/service account/);
    expect(() => spiffeId("cluster.local", "..", "sa")).toThrow(/namespace/);
  });

  it("parses only workload IDs", () => {
    expect(parseSpiffeId("spiffe://cluster.local/ns/a/sa/b/extra")).toBeUndefined();
    expect(parseSpiffeId("spiffe://cluster.local/workload/a")).toBeUndefined();
    expect(parseSpiffeId("https://cluster.local/ns/a/sa/b")).toBeUndefined();
    expect(parseSpiffeId("spiffe://cluster.local/ns/a b/sa/b")).toBeUndefined();
  });
});

describe("identityMatches", () => {
  const caller = { namespace: "coffee", serviceAccount: "barista" };

  it("accepts the caller in the trust domain or one of its aliases", () => {
    const domains = ["cluster.local", "old.example"];
    expect(identityMatches("spiffe://cluster.local/ns/coffee/sa/barista", caller, domains)).toBe(
      true,
    );
    expect(identityMatches("spiffe://old.example/ns/coffee/sa/barista", caller, domains)).toBe(
      true,
    );
  });

  it("refuses another service account, namespace or trust domain", () => {
    const domains = ["cluster.local"];
    expect(identityMatches("spiffe://cluster.local/ns/coffee/sa/payment", caller, domains)).toBe(
      false,
    );
    expect(identityMatches("spiffe://cluster.local/ns/tea/sa/barista", caller, domains)).toBe(
      false,
    );
    expect(identityMatches("spiffe://evil.example/ns/coffee/sa/barista", caller, domains)).toBe(
      false,
    );
  });
});
