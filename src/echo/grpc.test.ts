// gRPC EchoService (unary, streaming, forced status) and the health service, over real sockets.
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type EchoResponseMessage,
  type EchoStreamRequestMessage,
  FORCE_STATUS_KEY,
  forcedStatus,
  loadEchoService,
} from "./grpc.ts";
import {
  decodeHealthCheckRequest,
  encodeHealthCheckResponse,
  HEALTH_CHECK_PATH,
  SERVING_STATUS,
} from "./grpc-health.ts";
import type { EchoServer } from "./server.ts";
import { startTestEcho, TEST_POD } from "./test-support.ts";

type Callback = (error: grpc.ServiceError | null, response?: EchoResponseMessage) => void;

interface EchoClient extends grpc.Client {
  Echo(
    request: { message: string },
    metadata: grpc.Metadata,
    callback: Callback,
  ): grpc.ClientUnaryCall;
  EchoStream(
    request: EchoStreamRequestMessage,
    metadata: grpc.Metadata,
  ): grpc.ClientReadableStream<EchoResponseMessage>;
}

let server: EchoServer;
let client: EchoClient;

beforeAll(async () => {
  server = await startTestEcho({ grpcPort: 0 });
  const Client = grpc.makeClientConstructor(loadEchoService(), "EchoService");
  client = new Client(
    `127.0.0.1:${server.grpcPort}`,
    grpc.credentials.createInsecure(),
  ) as unknown as EchoClient;
});

afterAll(async () => {
  client.close();
  await server.stop();
});

function metadata(entries: Record<string, string>): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [key, value] of Object.entries(entries)) md.set(key, value);
  return md;
}

function unary(
  message: string,
  md: grpc.Metadata = new grpc.Metadata(),
): Promise<{ response: EchoResponseMessage; initial: grpc.Metadata }> {
  return new Promise((resolve, reject) => {
    let initial = new grpc.Metadata();
    const call = client.Echo({ message }, md, (error, response) =>
      error ? reject(error) : resolve({ response: response!, initial }),
    );
    call.on("metadata", (received: grpc.Metadata) => {
      initial = received;
    });
  });
}

async function streamed(request: EchoStreamRequestMessage, md = new grpc.Metadata()) {
  const responses: EchoResponseMessage[] = [];
  for await (const response of client.EchoStream(request, md)) {
    responses.push(response as EchoResponseMessage);
  }
  return responses;
}

describe("gRPC EchoService", () => {
  it("echoes the message with the workload identity, metadata and peer", async () => {
    const { response, initial } = await unary("hello", metadata({ "x-trace": "abc" }));
    expect(server.grpcPort).toBeGreaterThan(0);
    expect(response).toMatchObject({
      message: "hello",
      pod: TEST_POD,
      namespace: "echo-ns",
      version: "v7",
      serviceAccount: "echo-sa",
    });
    expect(response.metadata["x-trace"]).toBe("abc");
    expect(response.peer).toContain("127.0.0.1");
    expect(initial.get("x-crema-pod")).toEqual([TEST_POD]);
  });

  it("streams count responses", async () => {
    const responses = await streamed({ message: "s", count: 3 });
    expect(responses).toHaveLength(3);
    expect(responses.every((r) => r.message === "s" && r.pod === TEST_POD)).toBe(true);
    expect(await streamed({ message: "one", count: 0 })).toHaveLength(1);
  });

  it("refuses a stream count out of range", async () => {
    await expect(streamed({ message: "x", count: 10_001 })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
  });

  it("answers the status forced by x-echo-grpc-status", async () => {
    await expect(unary("x", metadata({ [FORCE_STATUS_KEY]: "14" }))).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
    });
    await expect(
      unary("x", metadata({ [FORCE_STATUS_KEY]: "permission_denied" })),
    ).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    await expect(
      streamed({ message: "x", count: 2 }, metadata({ [FORCE_STATUS_KEY]: "NOT_FOUND" })),
    ).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await expect(unary("x", metadata({ [FORCE_STATUS_KEY]: "bogus" }))).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    const ok = await unary("fine", metadata({ [FORCE_STATUS_KEY]: "0" }));
    expect(ok.response.message).toBe("fine");
  });

  it("parses forced statuses by number and name", () => {
    expect(forcedStatus(metadata({}))).toBeUndefined();
    expect(forcedStatus(metadata({ [FORCE_STATUS_KEY]: "OK" }))).toBeUndefined();
    expect(forcedStatus(metadata({ [FORCE_STATUS_KEY]: "16" }))?.code).toBe(16);
    expect(forcedStatus(metadata({ [FORCE_STATUS_KEY]: "17" }))?.code).toBe(
      grpc.status.INVALID_ARGUMENT,
    );
  });
});

describe("gRPC health", () => {
  function check(service: string): Promise<Buffer> {
    const name = Buffer.from(service, "utf8");
    const request =
      service === "" ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, name.length]), name]);
    const raw = (value: Buffer) => value;
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(HEALTH_CHECK_PATH, raw, raw, request, (error, response) =>
        error ? reject(error) : resolve(response!),
      );
    });
  }

  it("reports SERVING for the server and the echo service", async () => {
    const serving = encodeHealthCheckResponse(SERVING_STATUS.SERVING);
    expect(await check("")).toEqual(serving);
    expect(await check("crema.echo.v1.EchoService")).toEqual(serving);
  });

  it("answers NOT_FOUND for an unknown service", async () => {
    await expect(check("nope.Service")).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it("decodes HealthCheckRequest bytes", () => {
    expect(decodeHealthCheckRequest(Buffer.alloc(0))).toBe("");
    expect(decodeHealthCheckRequest(Buffer.from([0x0a, 0x01, 0x61]))).toBe("a");
    expect(decodeHealthCheckRequest(Buffer.from([0x10, 0x05, 0x0a, 0x01, 0x62]))).toBe("b");
    expect(decodeHealthCheckRequest(Buffer.from([0x0a, 0x09, 0x61]))).toBeUndefined();
    expect(decodeHealthCheckRequest(Buffer.from([0x0f]))).toBeUndefined();
  });
});
