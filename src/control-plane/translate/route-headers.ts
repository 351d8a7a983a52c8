// VirtualService `headers` (request/response set, add, remove) → Envoy header mutations, as
// Istio's TranslateHeadersOperations: `set` before `add`, each sorted by name; pseudo-headers and
// `host` are never mutated, and setting `:authority`/`host` becomes a host rewrite.
import type { JsonObject } from "../../xds/proto-json.ts";
import { isObj, sortedKeys, stringRecord, strings } from "./route-values.ts";

export interface HeaderOperations {
  requestHeadersToAdd: JsonObject[];
  requestHeadersToRemove: string[];
  responseHeadersToAdd: JsonObject[];
  responseHeadersToRemove: string[];
  /** `:authority`/`host` from request `set` (preferred) or `add`; "" when none. */
  authority: string;
}

const NO_OPERATIONS: HeaderOperations = {
  requestHeadersToAdd: [],
  requestHeadersToRemove: [],
  responseHeadersToAdd: [],
  responseHeadersToRemove: [],
  authority: "",
};

function isInternalHeader(name: string): boolean {
  return name.startsWith(":") || name.toLowerCase() === "host";
}

function isAuthorityHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return lower === ":authority" || lower === "host";
}

function headerValueOptions(
  headers: Record<string, string>,
  append: boolean,
): { options: JsonObject[]; authority: string } {
  let authority = "";
  const options: JsonObject[] = [];
  for (const key of sortedKeys(headers)) {
    const value = headers[key]!;
    if (isAuthorityHeader(key)) authority = value;
    if (isInternalHeader(key)) continue;
    options.push({
      header: { key, value },
      append_action: append ? "APPEND_IF_EXISTS_OR_ADD" : "OVERWRITE_IF_EXISTS_OR_ADD",
    });
  }
  return { options, authority };
}

/** Istio's TranslateHeadersOperations for one `headers` block. */
export function translateHeaderOperations(headers: unknown): HeaderOperations {
  if (!isObj(headers)) return NO_OPERATIONS;
  const request = isObj(headers.request) ? headers.request : {};
  const response = isObj(headers.response) ? headers.response : {};
  const requestSet = headerValueOptions(stringRecord(request.set), false);
  const requestAdd = headerValueOptions(stringRecord(request.add), true);
  const responseSet = headerValueOptions(stringRecord(response.set), false);
  const responseAdd = headerValueOptions(stringRecord(response.add), true);
  return {
    requestHeadersToAdd: [...requestSet.options, ...requestAdd.options],
    requestHeadersToRemove: strings(request.remove).filter((h) => !isInternalHeader(h)),
    responseHeadersToAdd: [...responseSet.options, ...responseAdd.options],
    responseHeadersToRemove: strings(response.remove).filter((h) => !isInternalHeader(h)),
    authority: requestSet.authority || requestAdd.authority,
  };
}

/** Appends the mutations to a Route or WeightedCluster.ClusterWeight (fields stay absent when empty). */
export function appendHeaderOperations(target: JsonObject, operations: HeaderOperations): void {
  const append = (field: string, values: readonly (JsonObject | string)[]) => {
    if (values.length === 0) return;
    const existing = Array.isArray(target[field]) ? (target[field] as (JsonObject | string)[]) : [];
    target[field] = [...existing, ...values];
  };
  append("request_headers_to_add", operations.requestHeadersToAdd);
  append("request_headers_to_remove", operations.requestHeadersToRemove);
  append("response_headers_to_add", operations.responseHeadersToAdd);
  append("response_headers_to_remove", operations.responseHeadersToRemove);
}
