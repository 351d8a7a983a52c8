// inventory-service: beans, milk and the rest, and what each drink uses of them.
//
//   GET  /stock           what this pod has left
//   POST /reserve         {drink, quantity} → takes the ingredients, or 409 when short of one
//   POST /admin/restock   fills the shelves again (the mesh DENYs /admin from every caller)
//   anything else         the echo answer (see lib/service.ts)
//
// Each pod counts its own shelves in memory: with two replicas, two shops' worth of stock.
import {
  HttpError,
  identity,
  readJson,
  requestUrl,
  sendJson,
  startService,
} from "./lib/service.ts";

type Ingredient = "beans" | "milk" | "oatMilk" | "chocolate";

const FULL_SHELVES: Readonly<Record<Ingredient, number>> = {
  beans: 500,
  milk: 200,
  oatMilk: 40,
  chocolate: 60,
};

/** Units of each ingredient one drink takes (a unit of beans is one shot). */
const RECIPES: Readonly<Record<string, Partial<Record<Ingredient, number>>>> = {
  espresso: { beans: 1 },
  americano: { beans: 1 },
  cappuccino: { beans: 1, milk: 1 },
  latte: { beans: 1, milk: 2 },
  "flat-white": { beans: 2, milk: 1 },
  "oat-latte": { beans: 1, oatMilk: 2 },
  mocha: { beans: 1, milk: 1, chocolate: 1 },
};

const stock: Record<Ingredient, number> = { ...FULL_SHELVES };

function reserve(body: Record<string, unknown>) {
  const drink = String(body.drink ?? "");
  const recipe = RECIPES[drink];
  if (!recipe) throw new HttpError(400, `unknown drink '${drink}'`);
  const quantity = body.quantity ?? 1;
  if (!Number.isInteger(quantity) || (quantity as number) < 1) {
    throw new HttpError(400, "quantity must be a positive whole number");
  }
  const needs = Object.entries(recipe).map(
    ([ingredient, units]) => [ingredient as Ingredient, units * (quantity as number)] as const,
  );
  const short = needs.find(([ingredient, units]) => stock[ingredient] < units);
  if (short) {
    return {
      status: 409,
      answer: { reserved: false, reason: `not enough ${short[0]}`, drink, quantity, stock },
    };
  }
  for (const [ingredient, units] of needs) stock[ingredient] -= units;
  return {
    status: 200,
    answer: { reserved: true, drink, quantity, used: Object.fromEntries(needs), stock },
  };
}

await startService("inventory-service", async (req, res, info) => {
  const path = requestUrl(req).pathname;
  if (req.method === "GET" && path === "/stock") {
    sendJson(res, 200, { ...identity(info, req), stock });
    return true;
  }
  if (req.method === "POST" && path === "/reserve") {
    const { status, answer } = reserve(await readJson(req));
    sendJson(res, status, { ...identity(info, req), ...answer });
    return true;
  }
  if (req.method === "POST" && path === "/admin/restock") {
    Object.assign(stock, FULL_SHELVES);
    sendJson(res, 200, { ...identity(info, req), restocked: true, stock });
    return true;
  }
  return false;
});
