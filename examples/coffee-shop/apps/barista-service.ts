// barista-service: makes the drinks. It runs on a virtual machine outside Kubernetes
// (80-vm.yaml), so nothing in the demo starts it for you: run it on the VM (or anywhere, to
// try it) with `HOST=<address> PORT=8080 node apps/barista-service.ts`.
//
//   GET  /ready     the readiness check the WorkloadGroup's probe calls
//   POST /brew      {drink, quantity} → which barista makes it and how long it takes
//   anything else   the echo answer (see lib/service.ts)
import {
  HttpError,
  identity,
  readJson,
  requestUrl,
  sendJson,
  startService,
} from "./lib/service.ts";

/** Seconds at the machine per cup; anything not listed is a plain pour. */
const BREW_SECONDS: Readonly<Record<string, number>> = {
  espresso: 30,
  americano: 40,
  cappuccino: 90,
  latte: 90,
  "flat-white": 100,
  "oat-latte": 90,
  mocha: 120,
};

await startService("barista-service", async (req, res, info) => {
  const path = requestUrl(req).pathname;
  if (req.method === "GET" && path === "/ready") {
    sendJson(res, 200, { ...identity(info, req), ready: true });
    return true;
  }
  if (req.method === "POST" && path === "/brew") {
    const body = await readJson(req);
    const drink = String(body.drink ?? "");
    if (drink === "") throw new HttpError(400, 'which drink? send {"drink": "latte"}');
    const quantity = Number(body.quantity ?? 1);
    if (!Number.isInteger(quantity) || quantity < 1) {
      throw new HttpError(400, "quantity must be a positive whole number");
    }
    sendJson(res, 200, {
      ...identity(info, req),
      drink,
      quantity,
      barista: info.pod,
      readyInSeconds: (BREW_SECONDS[drink] ?? 20) * quantity,
    });
    return true;
  }
  return false;
});
