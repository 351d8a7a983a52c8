// Route destinations of a VirtualService (http, tls and tcp `route[]`, `mirror`, `mirrors[]`):
// host, subset, port and weights — Istio's validateDestination and validate*RouteDestinations.
import type { FieldPath } from "../diagnostic.ts";
import type { ValidationContext } from "./context.ts";
import { checkPort, isObj, objects, present } from "./rules.ts";
import { checkHeaderOperations } from "./virtual-service-headers.ts";
import { isIstioDnsLabel, wildcardDomainProblem } from "./virtual-service-hosts.ts";

/** A subset name: a DNS label (Istio allows upper case). */
export function subsetNameProblem(name: string): string | undefined {
  if (name === "") return "subset name must not be empty";
  if (!isIstioDnsLabel(name))
    return `subset name ${JSON.stringify(name)} is invalid; use a DNS label (letters, digits and inner '-', at most 63 characters)`;
  return undefined;
}

/** A `Destination`: host (no bare "*", no IP address), optional subset and port. */
export function checkDestination(ctx: ValidationContext, path: FieldPath, dest: unknown): void {
  if (!isObj(dest)) return;
  const { host, subset, port } = dest;
  if (typeof host === "string") {
    const problem =
      host === "*" ? `a destination cannot be "*"; name one service` : wildcardDomainProblem(host);
    if (problem)
      ctx.error(
        [...path, "host"],
        "CREMA_VALIDATION_HOST",
        `invalid destination host ${JSON.stringify(host)}: ${problem}`,
      );
  }
  if (typeof subset === "string" && subset !== "") {
    const problem = subsetNameProblem(subset);
    if (problem) ctx.error([...path, "subset"], "CREMA_VALIDATION_NAME", problem);
  }
  if (isObj(port)) {
    if (present(port.number)) checkPort(ctx, [...path, "port", "number"], port.number);
    else
      ctx.error(
        [...path, "port"],
        "CREMA_VALIDATION_PORT",
        "a destination port needs a number from 1 to 65535",
      );
  }
}

/**
 * `route[]` of an http, tls or tcp rule: each destination valid, weights not negative, and
 * with several destinations at least one positive weight.
 */
export function checkRouteDestinations(
  ctx: ValidationContext,
  path: FieldPath,
  routes: unknown,
  { http }: { http: boolean },
): void {
  if (!Array.isArray(routes)) return;
  let total = 0;
  for (const [route, i] of objects(routes)) {
    const at = [...path, i];
    if (http) checkHeaderOperations(ctx, [...at, "headers"], route.headers);
    checkDestination(ctx, [...at, "destination"], route.destination);
    const weight = route.weight;
    if (typeof weight !== "number") continue;
    if (weight < 0) {
      ctx.error(
        [...at, "weight"],
        "CREMA_VALIDATION_WEIGHT",
        `weight ${weight} is negative; weights are relative shares from 0 upwards`,
      );
    } else {
      total += weight;
    }
  }
  if (routes.length > 1 && total === 0) {
    ctx.error(
      path,
      "CREMA_VALIDATION_WEIGHT",
      `the ${routes.length} destinations have a total weight of 0; give at least one a positive weight`,
    );
  }
}
