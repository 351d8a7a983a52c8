// payment-service: charges orders.
//
//   POST /pay       {orderId, amount (cents), currency, customer} → approved or not
//   anything else   the echo answer (see lib/service.ts)
//
// With PAYMENT_API_URL set, each payment is passed on to that external API, through the
// sidecar like every other call (the host must be in the mesh's registry, see 50-external.yaml),
// and the answer says what the API replied. Without it, payments are approved in-house.
import { randomUUID } from "node:crypto";
import {
  callService,
  HttpError,
  identity,
  ok,
  readJson,
  requestUrl,
  sendJson,
  startService,
} from "./lib/service.ts";

const PAYMENT_API_URL = process.env.PAYMENT_API_URL || undefined;

await startService("payment-service", async (req, res, info) => {
  if (req.method !== "POST" || requestUrl(req).pathname !== "/pay") return false;
  const body = await readJson(req);
  const amount = body.amount;
  if (!Number.isInteger(amount) || (amount as number) <= 0) {
    throw new HttpError(400, "amount must be a positive whole number of cents");
  }
  const payment = {
    paymentId: `pay-${randomUUID().slice(0, 8)}`,
    orderId: String(body.orderId ?? ""),
    amount,
    currency: String(body.currency ?? "EUR"),
  };
  if (!PAYMENT_API_URL) {
    sendJson(res, 200, {
      ...identity(info, req),
      approved: true,
      ...payment,
      processor: "in-house (PAYMENT_API_URL is not set)",
    });
    return true;
  }
  const external = await callService(PAYMENT_API_URL, {
    method: "POST",
    body: { ...payment, customer: body.customer },
    from: req,
  });
  sendJson(res, ok(external) ? 200 : 502, {
    ...identity(info, req),
    approved: ok(external),
    ...payment,
    processor: PAYMENT_API_URL,
    external,
  });
  return true;
});
