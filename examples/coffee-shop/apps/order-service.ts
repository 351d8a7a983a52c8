// order-service: takes orders. An order reserves its ingredients at inventory-service, then
// charges the customer at payment-service; the answer shows what each of them replied.
//
//   POST /orders         {drink, size, quantity, customer} → 201 with the order, or 502 when a
//                        dependency said no (the answer still shows what each one replied)
//   GET  /orders/<id>    an order this pod took (orders live in the pod's memory)
//   anything else        the echo answer (see lib/service.ts)
//
// With GRPC_PORT set it also serves gRPC there: the standard health service
// (grpc.health.v1.Health/Check) that the in-store order displays poll; other methods answer
// UNIMPLEMENTED. Written on node:http2 directly, to stay free of dependencies.
//
// PAYMENT_SERVICE_URL and INVENTORY_SERVICE_URL default to the services' names, which the
// mesh resolves; set them to reach the services directly when there is no sidecar.
import { randomUUID } from "node:crypto";
import { createServer as createHttp2Server, type Http2Session } from "node:http2";
import {
  type CallResult,
  callService,
  HttpError,
  identity,
  ok,
  portFrom,
  readJson,
  requestUrl,
  sendJson,
  startService,
} from "./lib/service.ts";

const PAYMENT_SERVICE_URL = process.env.PAYMENT_SERVICE_URL || "http://payment-service";
const INVENTORY_SERVICE_URL = process.env.INVENTORY_SERVICE_URL || "http://inventory-service";

/** Prices in cents for a regular cup; sizes add to it. */
const PRICES: Readonly<Record<string, number>> = {
  espresso: 250,
  americano: 300,
  cappuccino: 350,
  latte: 380,
  "flat-white": 390,
  "oat-latte": 420,
  mocha: 420,
};
const SIZES: Readonly<Record<string, number>> = { small: -30, regular: 0, large: 60 };
const MAX_QUANTITY = 20;
/** Enough to look orders up while trying things out; the oldest are forgotten first. */
const KEPT_ORDERS = 1000;

interface Order {
  order: {
    id: string;
    drink: string;
    size: string;
    quantity: number;
    customer: string;
    amount: number;
    currency: string;
    status: "confirmed" | "failed";
  };
  inventory: CallResult;
  payment: CallResult | { skipped: string };
}

const orders = new Map<string, Order>();

function parseOrder(body: Record<string, unknown>) {
  const drink = String(body.drink ?? "");
  const size = String(body.size ?? "regular");
  const quantity = Number(body.quantity ?? 1);
  const price = PRICES[drink];
  const extra = SIZES[size];
  if (price === undefined) {
    throw new HttpError(400, `unknown drink '${drink}'; we have ${Object.keys(PRICES).join(", ")}`);
  }
  if (extra === undefined) throw new HttpError(400, `size is small, regular or large`);
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_QUANTITY) {
    throw new HttpError(400, `quantity must be a whole number from 1 to ${MAX_QUANTITY}`);
  }
  return {
    id: `ord-${randomUUID().slice(0, 8)}`,
    drink,
    size,
    quantity,
    customer: String(body.customer ?? "7"),
    amount: (price + extra) * quantity,
    currency: "EUR",
  };
}

function remember(id: string, order: Order): void {
  orders.set(id, order);
  if (orders.size > KEPT_ORDERS) orders.delete(orders.keys().next().value!);
}

const service = await startService("order-service", async (req, res, info) => {
  const path = requestUrl(req).pathname;
  if (req.method === "POST" && path === "/orders") {
    const order = parseOrder(await readJson(req));
    const inventory = await callService(`${INVENTORY_SERVICE_URL}/reserve`, {
      method: "POST",
      body: { orderId: order.id, drink: order.drink, quantity: order.quantity },
      from: req,
    });
    // No ingredients, no charge. (A real shop would also hand the ingredients back when the
    // payment fails afterwards.)
    const payment = ok(inventory)
      ? await callService(`${PAYMENT_SERVICE_URL}/pay`, {
          method: "POST",
          body: {
            orderId: order.id,
            amount: order.amount,
            currency: order.currency,
            customer: order.customer,
          },
          from: req,
        })
      : { skipped: "inventory-service did not reserve the ingredients" };
    const confirmed = ok(inventory) && !("skipped" in payment) && ok(payment);
    const result: Order = {
      order: { ...order, status: confirmed ? "confirmed" : "failed" },
      inventory,
      payment,
    };
    remember(order.id, result);
    sendJson(res, confirmed ? 201 : 502, { ...identity(info, req), ...result });
    return true;
  }
  const lookup = /^\/orders\/([^/]+)$/.exec(path);
  if (req.method === "GET" && lookup) {
    const found = orders.get(lookup[1]!);
    if (found) sendJson(res, 200, { ...identity(info, req), ...found });
    else {
      sendJson(res, 404, {
        ...identity(info, req),
        error: `no order '${lookup[1]}' on this pod (each pod keeps the orders it took)`,
      });
    }
    return true;
  }
  return false;
});

// --- gRPC on GRPC_PORT

const GRPC_PORT = process.env.GRPC_PORT;
if (GRPC_PORT) {
  const SERVING = 1;
  const NOT_SERVING = 2;
  let serving = true;
  const sessions = new Set<Http2Session>();
  const grpc = createHttp2Server();
  grpc.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  grpc.on("stream", (stream, headers) => {
    const path = String(headers[":path"]);
    const log = (status: number) =>
      console.log(`POST ${path} grpc-status=${status} version=${service.info.version}`);
    if (!String(headers["content-type"]).startsWith("application/grpc")) {
      stream.respond({ ":status": 415 }, { endStream: true });
      return;
    }
    // The request message is not needed (Check answers for every service name); drain it.
    stream.resume();
    if (path !== "/grpc.health.v1.Health/Check") {
      stream.respond(
        {
          ":status": 200,
          "content-type": "application/grpc",
          "grpc-status": "12",
          "grpc-message": `${path} is not implemented here`,
        },
        { endStream: true },
      );
      log(12);
      return;
    }
    // HealthCheckResponse { status = 1 (enum) }: field 1, varint → bytes 0x08, status. Each gRPC
    // message is framed as 1 byte "compressed" flag + 4 bytes big-endian length.
    const message = Buffer.from([0x08, serving ? SERVING : NOT_SERVING]);
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, message.length]), message]);
    stream.respond(
      { ":status": 200, "content-type": "application/grpc" },
      { waitForTrailers: true },
    );
    stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.end(frame);
    log(0);
  });
  const host = service.info.host;
  const port = portFrom(GRPC_PORT, 9090, "GRPC_PORT");
  await new Promise<void>((resolve, reject) => {
    grpc.once("error", reject);
    grpc.listen(port, host, () => resolve());
  });
  console.log(`order-service gRPC listening on ${host}:${port}`);
  service.onShutdown(async () => {
    serving = false;
    const closed = new Promise<void>((resolve) => grpc.close(() => resolve()));
    // GOAWAY lets running calls finish and tells clients to reconnect elsewhere.
    for (const session of sessions) session.close();
    await closed;
  });
}
