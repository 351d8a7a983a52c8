import { describe, expect, it } from "vitest";
import { appendHeaderOperations, translateHeaderOperations } from "./route-headers.ts";

const set = (key: string, value: string) => ({
  header: { key, value },
  append_action: "OVERWRITE_IF_EXISTS_OR_ADD",
});
const add = (key: string, value: string) => ({
  header: { key, value },
  append_action: "APPEND_IF_EXISTS_OR_ADD",
});

describe("translateHeaderOperations", () => {
  it("writes set before add, each sorted by name; remove as written", () => {
    const ops = translateHeaderOperations({
      request: {
        add: { "x-b": "2", "x-a": "1" },
        set: { "x-z": "z", "x-y": "y" },
        remove: ["x-old"],
      },
      response: { set: { server: "crema" }, add: { via: "mesh" }, remove: ["x-powered-by"] },
    });
    expect(ops).toEqual({
      requestHeadersToAdd: [set("x-y", "y"), set("x-z", "z"), add("x-a", "1"), add("x-b", "2")],
      requestHeadersToRemove: ["x-old"],
      responseHeadersToAdd: [set("server", "crema"), add("via", "mesh")],
      responseHeadersToRemove: ["x-powered-by"],
      authority: "",
    });
  });

  it("turns :authority/host into a host rewrite and never mutates pseudo-headers or host", () => {
    const ops = translateHeaderOperations({
      request: {
        set: { ":authority": "set.example", "x-a": "1" },
        add: { Host: "added.example" },
        remove: [":path", "host", "x-b"],
      },
    });
    expect(ops.authority).toBe("set.example");
    expect(ops.requestHeadersToAdd).toEqual([set("x-a", "1")]);
    expect(ops.requestHeadersToRemove).toEqual(["x-b"]);
    expect(translateHeaderOperations({ request: { add: { host: "a.example" } } }).authority).toBe(
      "a.example",
    );
  });

  it("absent headers: nothing", () => {
    const route = {};
    appendHeaderOperations(route, translateHeaderOperations(undefined));
    expect(route).toEqual({});
  });

  it("appends to existing mutations (destination headers after route headers)", () => {
    const route = { request_headers_to_add: [set("x-route", "r")] };
    appendHeaderOperations(
      route,
      translateHeaderOperations({ request: { set: { "x-dest": "d" } } }),
    );
    expect(route).toEqual({ request_headers_to_add: [set("x-route", "r"), set("x-dest", "d")] });
  });
});
