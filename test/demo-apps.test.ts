// The coffee-shop demo's applications (examples/coffee-shop/apps/) as real processes, started
// the way the local runtime starts a container: the app file run by Node from the manifests'
// folder, HOST and PORT from the environment. There is no sidecar here, so each app is told
// where its dependencies are (PAYMENT_SERVICE_URL, ...) instead of reaching them by name.
// Every address is in 127.44.0.0/16, which no other test uses.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { connect as connectHttp2 } from "node:http2";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const DEMO = new URL("../examples/coffee-shop/", import.meta.url).pathname;
const PORT = 8080;
const GRPC_PORT = 9090;

interface AppSpec {
  file: string;
  host: string;
  env?: Record<string, string>;
  /** Extra ports to wait for besides PORT. */
  ports?: number[];
}

const url = (host: string) => `http://${host}:${PORT}`;

const APPS = {
  web: { file: "web-frontend", host: "127.44.0.1" },
  order: { file: "order-service", host: "127.44.0.2" },
  payment: { file: "payment-service", host: "127.44.0.3" },
  inventory: { file: "inventory-service", host: "127.44.0.4" },
  customerV1: { file: "customer-service", host: "127.44.0.5", env: { SERVICE_VERSION: "v1" } },
  customerV2: { file: "customer-service", host: "127.44.0.6", env: { SERVICE_VERSION: "v2" } },
  barista: { file: "barista-service", host: "127.44.0.7" },
  // An order-service and a payment-service whose dependencies are echo answers (barista's), so
  // the tests see exactly what they were sent.
  orderToEcho: { file: "order-service", host: "127.44.0.8" },
  paymentWithApi: { file: "payment-service", host: "127.44.0.9" },
} satisfies Record<string, AppSpec>;

const SPECS: Record<keyof typeof APPS, AppSpec> = {
  ...APPS,
  web: {
    ...APPS.web,
    env: {
      CUSTOMER_SERVICE_URL: url(APPS.customerV2.host),
      ORDER_SERVICE_URL: url(APPS.order.host),
    },
  },
  order: {
    ...APPS.order,
    env: {
      PAYMENT_SERVICE_URL: url(APPS.payment.host),
      INVENTORY_SERVICE_URL: url(APPS.inventory.host),
      GRPC_PORT: String(GRPC_PORT),
    },
    ports: [GRPC_PORT],
  },
  orderToEcho: {
    ...APPS.orderToEcho,
    env: {
      PAYMENT_SERVICE_URL: `${url(APPS.barista.host)}/payments`,
      INVENTORY_SERVICE_URL: `${url(APPS.barista.host)}/inventory`,
    },
  },
  paymentWithApi: {
    ...APPS.paymentWithApi,
    env: { PAYMENT_API_URL: `${url(APPS.barista.host)}/v1/charges` },
  },
};

interface Running {
  child: ChildProcess;
  output: () => string;
}

const running = new Map<string, Running>();

function podName(key: string): string {
  return `${key.toLowerCase()}-test`;
}

/** Resolves once something accepts connections on host:port, trying again after each refusal. */
async function connectable(host: string, port: number, app: Running): Promise<void> {
  for (;;) {
    if (app.child.exitCode !== null) throw new Error(`exited with ${app.child.exitCode}`);
    const printed = app.output().length;
    const socket = connect({ host, port });
    const accepted = await new Promise<boolean>((resolve) => {
      socket.once("connect", () => resolve(true));
      socket.once("error", () => resolve(false));
    });
    socket.destroy();
    if (accepted) return;
    // The apps print a line once a port listens: try again when there is new output.
    if (app.output().length === printed) {
      await Promise.race([once(app.child.stdout!, "data"), once(app.child, "exit")]);
    }
  }
}

async function start(key: string, spec: AppSpec): Promise<void> {
  // Only what the runtime would give the container: no HTTP_PROXY, so fetch goes direct.
  const env = {
    PATH: process.env.PATH ?? "",
    HOST: spec.host,
    PORT: String(PORT),
    POD_NAME: podName(key),
    POD_NAMESPACE: "coffee-shop",
    SERVICE_ACCOUNT: spec.file,
    ...spec.env,
  };
  const child = spawn(process.execPath, [`apps/${spec.file}.ts`], {
    cwd: DEMO,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (text: string) => {
    output += text;
  });
  child.stderr.on("data", (text: string) => {
    output += text;
  });
  const app: Running = { child, output: () => output };
  running.set(key, app);
  try {
    for (const port of [PORT, ...(spec.ports ?? [])]) await connectable(spec.host, port, app);
  } catch (error) {
    throw new Error(`${key} (${spec.file}) did not start: ${(error as Error).message}\n${output}`);
  }
}

beforeAll(async () => {
  await Promise.all(Object.entries(SPECS).map(([key, spec]) => start(key, spec)));
});

afterAll(async () => {
  await Promise.all(
    [...running.values()].map(async ({ child }) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGKILL");
      await exited;
    }),
  );
});

async function getJson(
  address: string,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const response = await fetch(`${address}${path}`, init);
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

function postJson(address: string, path: string, body: unknown, headers = {}) {
  return getJson(address, path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

const ALL = Object.keys(APPS) as Array<keyof typeof APPS>;

describe("every demo app is also an echo server", () => {
  it.each(ALL)("%s describes a request for a path it does not own", async (key) => {
    const spec = SPECS[key];
    const { status, body } = await getJson(url(spec.host), "/anything/here?x=1&y=two", {
      headers: { "x-coffee-test": "yes" },
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      service: spec.file,
      version: spec.env?.SERVICE_VERSION ?? "v1",
      pod: podName(key),
      namespace: "coffee-shop",
      method: "GET",
      path: "/anything/here?x=1&y=two",
    });
    expect(body.headers).toMatchObject({ "x-coffee-test": "yes", host: `${spec.host}:${PORT}` });
  });

  it.each(ALL)("%s answers /status/503 with 503", async (key) => {
    const { status, body } = await getJson(url(SPECS[key].host), "/status/503");
    expect(status).toBe(503);
    expect(body.path).toBe("/status/503");
  });

  it.each(ALL)("%s adds ?set-header=name:value to its answer", async (key) => {
    const { headers } = await getJson(
      url(SPECS[key].host),
      "/headers?set-header=x-api-key:s3cret&set-header=x-coffee-extra:%20two",
    );
    expect(headers.get("x-api-key")).toBe("s3cret");
    expect(headers.get("x-coffee-extra")).toBe("two");
  });

  it("answers /delay/<duration> after the delay, and refuses a duration it cannot read", async () => {
    const host = url(APPS.inventory.host);
    const delayed = await getJson(host, "/delay/150ms");
    expect(delayed.status).toBe(200);
    expect(delayed.body.path).toBe("/delay/150ms");
    expect((await getJson(host, "/delay/0.1s")).status).toBe(200);
    expect((await getJson(host, "/delay/soon")).status).toBe(400);
    expect((await getJson(host, "/delay/5m")).status).toBe(400);
  });

  it("refuses a set-header it may not set, and a status that is no final status", async () => {
    const host = url(APPS.barista.host);
    expect((await getJson(host, "/?set-header=content-length:1")).status).toBe(400);
    expect((await getJson(host, "/?set-header=no-colon")).status).toBe(400);
    expect((await getJson(host, "/status/101")).status).toBe(400);
  });

  it("logs one line per request on standard output", async () => {
    await getJson(url(APPS.customerV2.host), "/log-me?please");
    const app = running.get("customerV2")!;
    // The line is written once the answer is out, so it may still be on its way.
    while (!/\nGET \/log-me\?please 200 version=v2 \d+ms\n/.test(app.output())) {
      await once(app.child.stdout!, "data");
    }
  });
});

describe("the shop", () => {
  it("customer-service v2 adds loyalty to the profile that v1 serves", async () => {
    const v1 = await getJson(url(APPS.customerV1.host), "/profiles/42");
    const v2 = await getJson(url(APPS.customerV2.host), "/profiles/42");
    expect(v1.body).toMatchObject({ version: "v1", profile: { id: "42" } });
    expect(v1.body.profile).not.toHaveProperty("loyalty");
    expect(v2.body).toMatchObject({ version: "v2", profile: { id: "42" } });
    expect(v2.body.profile).toHaveProperty("loyalty.tier");
    expect((v2.body.profile as { name: string }).name).toBe(
      (v1.body.profile as { name: string }).name,
    );
  });

  it("order-service reserves at inventory-service, charges at payment-service and reports both", async () => {
    const placed = await postJson(url(APPS.order.host), "/orders", {
      drink: "latte",
      size: "large",
      quantity: 2,
      customer: "42",
    });
    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({
      service: "order-service",
      order: { drink: "latte", quantity: 2, amount: 880, status: "confirmed" },
      inventory: {
        status: 200,
        body: { service: "inventory-service", reserved: true, used: { beans: 2, milk: 4 } },
      },
      payment: {
        status: 200,
        body: { service: "payment-service", approved: true, amount: 880, currency: "EUR" },
      },
    });
    const id = (placed.body.order as { id: string }).id;
    const found = await getJson(url(APPS.order.host), `/orders/${id}`);
    expect(found.status).toBe(200);
    expect(found.body).toMatchObject({ path: `/orders/${id}`, order: { id, status: "confirmed" } });
    expect((await getJson(url(APPS.order.host), "/orders/nope")).status).toBe(404);
  });

  it("order-service refuses an unknown drink without calling anyone", async () => {
    const placed = await postJson(url(APPS.order.host), "/orders", { drink: "tea" });
    expect(placed.status).toBe(400);
    expect(String(placed.body.error)).toContain("unknown drink 'tea'");
  });

  it("order-service reports a failed dependency and does not charge for it", async () => {
    const placed = await postJson(url(APPS.order.host), "/orders", {
      drink: "oat-latte",
      quantity: 20, // 40 units of oat milk: all there is
    });
    expect(placed.status).toBe(201);
    const again = await postJson(url(APPS.order.host), "/orders", { drink: "oat-latte" });
    expect(again.status).toBe(502);
    expect(again.body).toMatchObject({
      order: { status: "failed" },
      inventory: { status: 409, body: { reserved: false, reason: "not enough oatMilk" } },
      payment: { skipped: expect.any(String) },
    });
  });

  it("passes trace and routing headers on to the services it calls, and no others", async () => {
    const placed = await postJson(
      url(APPS.orderToEcho.host),
      "/orders",
      { drink: "espresso" },
      {
        "x-request-id": "req-1",
        traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "user-agent": "Mozilla/5.0 Firefox/128.0",
        "x-coffee-chaos": "on",
        "x-unrelated": "stays here",
      },
    );
    expect(placed.status).toBe(201);
    for (const call of ["inventory", "payment"]) {
      const echoed = (placed.body[call] as { body: { headers: Record<string, string> } }).body;
      expect(echoed.headers).toMatchObject({
        "x-request-id": "req-1",
        traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "user-agent": "Mozilla/5.0 Firefox/128.0",
        "x-coffee-chaos": "on",
      });
      expect(echoed.headers).not.toHaveProperty("x-unrelated");
    }
    expect(placed.body).toMatchObject({
      inventory: { body: { method: "POST", path: "/inventory/reserve" } },
      payment: { body: { method: "POST", path: "/payments/pay" } },
    });
  });

  it("payment-service passes a payment on to PAYMENT_API_URL when it is set", async () => {
    const paid = await postJson(url(APPS.paymentWithApi.host), "/pay", {
      orderId: "ord-1",
      amount: 380,
    });
    expect(paid.status).toBe(200);
    expect(paid.body).toMatchObject({
      approved: true,
      processor: `${url(APPS.barista.host)}/v1/charges`,
      external: { status: 200, body: { method: "POST", path: "/v1/charges" } },
    });
    const plain = await postJson(url(APPS.payment.host), "/pay", { amount: 380 });
    expect(plain.body).toMatchObject({
      approved: true,
      processor: expect.stringMatching(/in-house/),
    });
    expect((await postJson(url(APPS.payment.host), "/pay", { amount: -1 })).status).toBe(400);
  });

  it("web-frontend shows the profile from customer-service and places orders", async () => {
    const home = await fetch(`${url(APPS.web.host)}/?customer=42`);
    const html = await home.text();
    expect(home.status).toBe(200);
    expect(home.headers.get("content-type")).toContain("text/html");
    expect(html).toContain("Welcome back");
    expect(html).toContain("customer-service v2 on pod customerv2-test");
    expect(html).toContain('<form method="post" action="/order">');

    const ordered = await fetch(`${url(APPS.web.host)}/order`, {
      method: "POST",
      body: new URLSearchParams({ drink: "mocha", size: "small", quantity: "1", customer: "42" }),
    });
    const result = await ordered.text();
    expect(ordered.status).toBe(200);
    expect(result).toMatch(/Order ord-[0-9a-f]+ confirmed: €3\.90/);
    expect(result).toContain("inventory-service");
  });

  it("web-frontend shows a failed call on the page instead of failing the page", async () => {
    const ordered = await fetch(`${url(APPS.web.host)}/order`, {
      method: "POST",
      body: new URLSearchParams({ drink: "tea" }),
    });
    expect(ordered.status).toBe(400);
    expect(await ordered.text()).toContain("order-service answered 400");
  });

  it("barista-service answers its readiness probe and brews", async () => {
    expect((await getJson(url(APPS.barista.host), "/ready")).body).toMatchObject({ ready: true });
    const brewed = await postJson(url(APPS.barista.host), "/brew", { drink: "latte" });
    expect(brewed.body).toMatchObject({ drink: "latte", barista: "barista-test" });
  });

  it("inventory-service keeps /admin/restock (which the mesh denies to every caller)", async () => {
    const restocked = await postJson(url(APPS.inventory.host), "/admin/restock", {});
    expect(restocked.body).toMatchObject({ restocked: true, stock: { oatMilk: 40 } });
  });
});

describe("order-service's gRPC port", () => {
  async function grpcCall(path: string) {
    const session = connectHttp2(`http://${APPS.order.host}:${GRPC_PORT}`);
    try {
      const stream = session.request({
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc",
        te: "trailers",
      });
      const trailers = new Promise<Record<string, unknown>>((resolve) => {
        stream.once("trailers", (t) => resolve(t));
        stream.once("response", (headers) => {
          if (headers["grpc-status"] !== undefined) resolve(headers);
        });
      });
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.end(Buffer.from([0, 0, 0, 0, 0])); // one empty message
      await once(stream, "close");
      return { trailers: await trailers, data: Buffer.concat(chunks) };
    } finally {
      session.close();
    }
  }

  it("serves grpc.health.v1.Health/Check: SERVING", async () => {
    const { trailers, data } = await grpcCall("/grpc.health.v1.Health/Check");
    expect(trailers["grpc-status"]).toBe("0");
    expect([...data]).toEqual([0, 0, 0, 0, 2, 0x08, 1]);
  });

  it("answers any other method UNIMPLEMENTED", async () => {
    const { trailers } = await grpcCall("/coffee.Orders/Place");
    expect(trailers["grpc-status"]).toBe("12");
  });
});

describe("shutdown", () => {
  it("every app exits with status 0 on SIGTERM", async () => {
    const exits = await Promise.all(
      [...running.entries()].map(async ([key, { child }]) => {
        const exited = once(child, "exit");
        child.kill("SIGTERM");
        const [code] = await exited;
        return [key, code];
      }),
    );
    expect(Object.fromEntries(exits)).toEqual(
      Object.fromEntries([...running.keys()].map((key) => [key, 0])),
    );
  });
});
