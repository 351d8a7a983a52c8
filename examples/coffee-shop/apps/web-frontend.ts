// web-frontend: the shop's web page. It shows the customer's profile from customer-service
// (which version answered is on the page) and a form to order a drink from order-service.
//
//   GET  / and /menu   the page; ?customer=<id> picks whose profile to show (default 7)
//   POST /order        form fields drink, size, quantity, customer → the order's outcome
//   anything else      the echo answer (see lib/service.ts)
//
// CUSTOMER_SERVICE_URL and ORDER_SERVICE_URL default to the services' names, which the mesh
// resolves; set them to reach the services directly when there is no sidecar.
import type { IncomingMessage } from "node:http";
import {
  type CallResult,
  callService,
  HttpError,
  readBody,
  requestUrl,
  type ServiceInfo,
  sendHtml,
  startService,
} from "./lib/service.ts";

const CUSTOMER_SERVICE_URL = process.env.CUSTOMER_SERVICE_URL || "http://customer-service";
const ORDER_SERVICE_URL = process.env.ORDER_SERVICE_URL || "http://order-service";

const DRINKS: ReadonlyArray<[string, string]> = [
  ["espresso", "Espresso"],
  ["americano", "Americano"],
  ["cappuccino", "Cappuccino"],
  ["latte", "Latte"],
  ["flat-white", "Flat white"],
  ["oat-latte", "Oat latte"],
  ["mocha", "Mocha"],
];
const DEFAULT_CUSTOMER = "7";

function escapeHtml(text: unknown): string {
  return String(text).replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

function customerId(text: string | null | undefined): string {
  return text && /^[\w-]{1,64}$/.test(text) ? text : DEFAULT_CUSTOMER;
}

function page(info: ServiceInfo, title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)} · the coffee shop</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #2b1d14; }
  h1 { margin-bottom: 0.2rem; }
  section { border: 1px solid #d8c8b8; border-radius: 8px; padding: 0.8rem 1rem; margin: 1rem 0; }
  .served { color: #7a6a5a; font-size: 0.85rem; }
  .v2 { background: #f3ecff; }
  .error { background: #fdeaea; }
  pre { background: #f6f2ee; padding: 0.6rem; overflow-x: auto; font-size: 0.8rem; }
  label { display: inline-block; margin-right: 1rem; }
</style>
</head>
<body>
<h1>☕ The coffee shop</h1>
<p class="served">page by ${escapeHtml(info.service)} ${escapeHtml(info.version)} on pod ${escapeHtml(info.pod)}</p>
${body}
</body>
</html>
`;
}

/** Who answered a call, as the services put it in their JSON. */
function servedBy(call: CallResult): string {
  const body = call.body as { service?: unknown; version?: unknown; pod?: unknown } | undefined;
  if (typeof body !== "object" || body === null || body.service === undefined) return "";
  return `${escapeHtml(body.service)} ${escapeHtml(body.version)} on pod ${escapeHtml(body.pod)}`;
}

function failure(what: string, call: CallResult): string {
  const why = call.status !== undefined ? `answered ${call.status}` : `could not be reached`;
  const detail =
    (typeof call.body === "string" ? call.body : (call.error ?? JSON.stringify(call.body))) ||
    "(an empty answer)";
  return `<section class="error"><strong>${escapeHtml(what)} ${why}</strong><pre>${escapeHtml(detail)}</pre></section>`;
}

interface ProfileAnswer {
  version?: string;
  profile?: {
    name: string;
    usualDrink: string;
    loyalty?: { tier: string; points: number };
    recommendation?: string;
  };
}

function profileSection(call: CallResult): string {
  const { profile, version } = (call.body ?? {}) as ProfileAnswer;
  if (call.status !== 200 || typeof profile !== "object") return failure("customer-service", call);
  const loyalty = profile.loyalty
    ? `<p>Loyalty: <strong>${escapeHtml(profile.loyalty.tier)}</strong>, ${escapeHtml(profile.loyalty.points)} points.
       Why not try a <strong>${escapeHtml(profile.recommendation)}</strong> today?</p>`
    : "";
  return `<section class="${version === "v2" ? "v2" : ""}">
<h2>Welcome back, ${escapeHtml(profile.name)}</h2>
<p>Your usual: <strong>${escapeHtml(profile.usualDrink)}</strong>.</p>
${loyalty}
<p class="served">profile from ${servedBy(call)}</p>
</section>`;
}

function orderForm(customer: string): string {
  const options = DRINKS.map(([id, name]) => `<option value="${id}">${name}</option>`).join("");
  return `<section>
<h2>Order</h2>
<form method="post" action="/order">
  <input type="hidden" name="customer" value="${escapeHtml(customer)}">
  <label>Drink <select name="drink">${options}</select></label>
  <label>Size <select name="size"><option>small</option><option selected>regular</option><option>large</option></select></label>
  <label>Cups <input name="quantity" type="number" min="1" max="20" value="1" style="width:4rem"></label>
  <button type="submit">Order</button>
</form>
</section>`;
}

async function home(info: ServiceInfo, req: IncomingMessage): Promise<string> {
  const customer = customerId(requestUrl(req).searchParams.get("customer"));
  const profile = await callService(`${CUSTOMER_SERVICE_URL}/profiles/${customer}`, { from: req });
  return page(info, "Welcome", profileSection(profile) + orderForm(customer));
}

async function readOrderForm(req: IncomingMessage): Promise<Record<string, string>> {
  const text = await readBody(req);
  if (String(req.headers["content-type"]).startsWith("application/json")) {
    try {
      return JSON.parse(text || "{}") as Record<string, string>;
    } catch {
      throw new HttpError(400, "the order is not JSON");
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}

async function placeOrder(info: ServiceInfo, req: IncomingMessage) {
  const form = await readOrderForm(req);
  const customer = customerId(form.customer);
  const call = await callService(`${ORDER_SERVICE_URL}/orders`, {
    method: "POST",
    body: { drink: form.drink, size: form.size, quantity: form.quantity, customer },
    from: req,
  });
  const answer = call.body as
    | { order?: { id: string; status: string; amount: number } }
    | undefined;
  const order = typeof answer === "object" && answer !== null ? answer.order : undefined;
  const back = `<p><a href="/?customer=${escapeHtml(customer)}">Back to the shop</a></p>`;
  const details = `<h3>What the services answered</h3><pre>${escapeHtml(JSON.stringify(call.body, null, 2))}</pre>`;
  if (call.status === undefined || !order) {
    // A 4xx is the customer's mistake (say, no such drink) and stays one.
    const status = call.status !== undefined && call.status < 500 ? call.status : 502;
    return { status, html: page(info, "Order failed", failure("order-service", call) + back) };
  }
  const confirmed = order.status === "confirmed";
  const headline = confirmed
    ? `<h2>Order ${escapeHtml(order.id)} confirmed: €${(order.amount / 100).toFixed(2)}</h2>`
    : `<h2>Order ${escapeHtml(order.id)} failed</h2>`;
  return {
    status: confirmed ? 200 : 502,
    html: page(
      info,
      confirmed ? "Order confirmed" : "Order failed",
      `<section class="${confirmed ? "" : "error"}">${headline}<p class="served">taken by ${servedBy(call)}</p>${details}</section>${back}`,
    ),
  };
}

await startService("web-frontend", async (req, res, info) => {
  const path = requestUrl(req).pathname;
  if (req.method === "GET" && (path === "/" || path === "/menu")) {
    sendHtml(res, 200, await home(info, req));
    return true;
  }
  if (req.method === "POST" && path === "/order") {
    const { status, html } = await placeOrder(info, req);
    sendHtml(res, status, html);
    return true;
  }
  return false;
});
