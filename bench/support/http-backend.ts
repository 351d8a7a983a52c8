// The rawest benchmark backend: node:http answering every request with 1 KiB, keep-alive, in its
// own process so the load generator and proxies don't share its event loop.
import { createServer } from "node:http";

const [host = "127.0.0.1", port = "0"] = process.argv.slice(2);
const body = Buffer.alloc(1024, "x");
const server = createServer((req, res) => {
  req.resume();
  res.writeHead(200, { "content-type": "text/plain", "content-length": body.length });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(Number(port), host, () => {
  const address = server.address();
  if (address && typeof address === "object") console.log(`backend listening ${address.port}`);
});
process.on("SIGTERM", () => process.exit(0));
