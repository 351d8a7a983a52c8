import { describe, expect, it } from "vitest";
import { grpcStatusOf, grpcToHttpStatus, parseGrpcStatus } from "./grpc-status.ts";

describe("grpcToHttpStatus", () => {
  it("maps as Envoy's Grpc::Utility::grpcToHttpStatus", () => {
    const cases: Array<[number, number]> = [
      [0, 200],
      [1, 499],
      [2, 500],
      [3, 400],
      [4, 504],
      [5, 404],
      [6, 409],
      [7, 403],
      [8, 429],
      [9, 400],
      [10, 409],
      [11, 400],
      [12, 501],
      [13, 500],
      [14, 503],
      [15, 500],
      [16, 401],
      [17, 500],
    ];
    for (const [grpc, http] of cases) expect([grpc, grpcToHttpStatus(grpc)]).toEqual([grpc, http]);
  });

  it("reads grpc-status only when it is a number", () => {
    expect(grpcStatusOf({ "grpc-status": "14" })).toBe(14);
    expect(grpcStatusOf({ "grpc-status": ["4"] })).toBe(4);
    expect(grpcStatusOf({ "grpc-status": "x" })).toBeUndefined();
    expect(grpcStatusOf({})).toBeUndefined();
    expect(grpcStatusOf(undefined)).toBeUndefined();
  });
});

describe("parseGrpcStatus", () => {
  it("takes digits only, untrimmed (the retry decision trims its joined value first)", () => {
    expect(parseGrpcStatus("14")).toBe(14);
    expect(parseGrpcStatus(" 14")).toBeUndefined();
    expect(parseGrpcStatus("14,4")).toBeUndefined();
    expect(parseGrpcStatus("")).toBeUndefined();
    expect(parseGrpcStatus(undefined)).toBeUndefined();
  });
});
