// node:http without an ES module import. Importing it as a module evaluates every export, and
// three of them (WebSocket, CloseEvent, MessageEvent) are getters that load Node's bundled
// undici: about 50 ms of CPU in the start of every process that imports node:http, which is
// every sidecar of a local mesh. process.getBuiltinModule hands over the same module object
// without touching them. Types still come from `import type … from "node:http"`.
import type * as Http from "node:http";

export const nodeHttp = process.getBuiltinModule("node:http") as typeof Http;
