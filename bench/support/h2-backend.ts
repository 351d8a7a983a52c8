// The HTTP/2 twin of http-backend.ts: node:http2 answering every request with 1 KiB over
// cleartext HTTP/2 with prior knowledge (h2c) only, in its own process. It speaks no HTTP/1.1, so
// a proxy in front of it that did not go upstream over HTTP/2 gets no answer at all.
import { constants, createServer } from "node:http2";

const [host = "127.0.0.1", port = "0"] = process.argv.slice(2);
const body = Buffer.alloc(1024, "x");
const server = createServer((req, res) => {
  req.resume();
  res.writeHead(200, {
    [constants.HTTP2_HEADER_CONTENT_TYPE]: "text/plain",
    [constants.HTTP2_HEADER_CONTENT_LENGTH]: body.length,
  });
  res.end(body);
});
server.listen(Number(port), host, () => {
  const address = server.address();
  if (address && typeof address === "object") console.log(`backend listening ${address.port}`);
});
process.on("SIGTERM", () => process.exit(0));
