// A real gRPC server (grpc-js) for the proxy benchmark: `bench.Bench/Unary` answers every call
// with a 1 KiB payload and grpc-status 0, in its own process like http-backend.ts.
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from "@grpc/grpc-js";
import { BENCH_SERVICE, RESPONSE_BODY_BYTES } from "./grpc-bench-service.ts";

const [host = "127.0.0.1", port = "0"] = process.argv.slice(2);
const reply = Buffer.alloc(RESPONSE_BODY_BYTES, "x");
const server = new Server();
server.addService(BENCH_SERVICE, {
  Unary: (_call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) =>
    callback(null, reply),
});
server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (error, bound) => {
  if (error) {
    console.error(`grpc backend: ${error.message}`);
    process.exit(1);
  }
  console.log(`backend listening ${bound}`);
});
process.on("SIGTERM", () => process.exit(0));
