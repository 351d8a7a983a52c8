// customer-service: customer profiles, in two versions behind one Service. v2 adds the loyalty
// programme to each profile, so a page built from it shows which version answered.
//
//   GET /profiles/<id>   the profile (v1: name and usual drink; v2: also loyalty tier and points)
//   anything else        the echo answer (see lib/service.ts)
import { HttpError, identity, requestUrl, sendJson, startService } from "./lib/service.ts";

const NAMES = ["Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances"];
const DRINKS = ["espresso", "flat-white", "latte", "cappuccino", "oat-latte", "mocha"];
const TIERS = ["bean", "roast", "barista"];

/** The same id always gets the same made-up profile, on every pod and every version. */
function seed(id: string): number {
  let n = 7;
  for (const char of id) n = (n * 31 + char.charCodeAt(0)) % 100_003;
  return n;
}

await startService("customer-service", (req, res, info) => {
  const match = /^\/profiles\/([^/]+)$/.exec(requestUrl(req).pathname);
  if (!match || req.method !== "GET") return false;
  const id = match[1]!;
  if (!/^[\w-]{1,64}$/.test(id)) throw new HttpError(400, `'${id}' is not a customer id`);
  const n = seed(id);
  const profile = {
    id,
    name: NAMES[n % NAMES.length],
    usualDrink: DRINKS[n % DRINKS.length],
    ...(info.version === "v2"
      ? {
          loyalty: { tier: TIERS[n % TIERS.length], points: (n % 40) * 10 },
          recommendation: DRINKS[(n + 1) % DRINKS.length],
        }
      : {}),
  };
  sendJson(res, 200, { ...identity(info, req), profile });
  return true;
});
