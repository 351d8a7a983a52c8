// Request targets to endpoints: routing, limits, status and set-header parsing.
import { describe, expect, it } from "vitest";
import { LIMITS, parseTarget, queryObject, type Target } from "./routes.ts";

function target(url: string): Target {
  const parsed = parseTarget(url);
  if (!parsed.ok) throw new Error(`expected '${url}' to parse: ${parsed.message}`);
  return parsed.target;
}

function failure(url: string): string {
  const parsed = parseTarget(url);
  if (parsed.ok) throw new Error(`expected '${url}' to be rejected`);
  return parsed.message;
}

describe("parseTarget", () => {
  it("routes the listed endpoints", () => {
    expect(target("/").route).toEqual({ kind: "echo" });
    expect(target("/headers").route).toEqual({ kind: "headers" });
    expect(target("/ip").route).toEqual({ kind: "ip" });
    expect(target("/ws?x=1").route).toEqual({ kind: "ws" });
    expect(target("/delay/250").route).toEqual({ kind: "delay", ms: 250 });
    expect(target("/delay/1.5s").route).toEqual({ kind: "delay", ms: 1500 });
    expect(target("/bytes/1024").route).toEqual({ kind: "bytes", count: 1024 });
    expect(target("/stream/3").route).toEqual({ kind: "stream", count: 3 });
  });

  it("answers every other path with the echo", () => {
    for (const path of ["/a", "/a/b/c", "/statuses/1", "/headers/", "/*"]) {
      expect(target(path).route).toEqual({ kind: "echo" });
    }
    expect(target("*").path).toBe("*");
  });

  it("takes the status from /status/{code}, else from ?status=", () => {
    expect(target("/status/503")).toMatchObject({ route: { kind: "echo" }, status: 503 });
    expect(target("/bytes/10?status=206").status).toBe(206);
    expect(target("/status/201?status=500").status).toBe(201);
    expect(target("/").status).toBeUndefined();
  });

  it("splits path and query and collects set-header", () => {
    const parsed = target("/p?a=1&set-header=X-One:1&set-header=x-two: two ");
    expect(parsed.path).toBe("/p");
    expect(parsed.setHeaders).toEqual([
      ["x-one", "1"],
      ["x-two", "two"],
    ]);
    expect(queryObject(parsed.query)).toEqual({ a: "1", "set-header": ["X-One:1", "x-two: two "] });
  });

  it("reads absolute-form targets", () => {
    expect(target("http://example.com/ip?z=1")).toMatchObject({
      path: "/ip",
      route: { kind: "ip" },
    });
    expect(failure("not a url")).toMatch(/request target/);
  });

  it("explains what is wrong with bad numbers", () => {
    expect(failure("/status/abc")).toMatch(/200 to 599/);
    expect(failure("/bytes/-1")).toMatch(/whole number/);
    expect(failure(`/bytes/${LIMITS.maxBytes + 1}`)).toMatch(/at most/);
    expect(failure(`/delay/${LIMITS.maxDelayMs + 1}`)).toMatch(/at most/);
    expect(failure("/stream/")).toMatch(/expected \/stream\/\{number\}/);
    expect(failure("/delay/5/6")).toMatch(/expected/);
    expect(failure("/?set-header=:x")).toMatch(/name:value/);
  });
});
