// A RouteMatch in istioctl's words: `/api*` for a prefix, the path itself, `PathPrefix:/api`,
// `regex …`; headers and query parameters are not shown. A CONNECT matcher (crema's sidecars
// route CONNECT tunnels) reads `CONNECT`.
import type { JsonObject } from "../../xds/proto-json.ts";
import { isObject, objectAt, stringAt } from "./config-dump.ts";

export function describeRouteMatch(match: JsonObject | undefined): string {
  const conditions: string[] = [];
  const prefix = stringAt(match, "prefix");
  if (prefix !== "") conditions.push(`${prefix}*`);
  const separated = stringAt(match, "path_separated_prefix");
  if (separated !== "") conditions.push(`PathPrefix:${separated}`);
  const path = stringAt(match, "path");
  if (path !== "") conditions.push(path);
  const regex = objectAt(match, "safe_regex");
  if (regex) conditions.push(`regex ${stringAt(regex, "regex")}`);
  if (isObject(match) && isObject(match.connect_matcher)) conditions.push("CONNECT");
  return conditions.join(" ");
}
