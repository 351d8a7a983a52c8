// Turns a response's Any resources into named proto3-JSON objects, collecting every decode error.
import { describeError } from "../../base/errors.ts";
import type { JsonObject } from "../proto-json.ts";
import { type AnyMessage, decodeResource } from "../resource-codec.ts";
import { TYPE_URL } from "../type-urls.ts";

export interface DecodedResource {
  json: JsonObject;
  version: string;
}

export interface Decoded {
  resources: Map<string, DecodedResource>;
  errors: string[];
}

/** An entry of a response: SotW has only the Any; delta adds the name and version. */
export interface RawResource {
  any: AnyMessage | null | undefined;
  name?: string;
  version: string;
}

/** The name a resource is known by: ClusterLoadAssignment's cluster_name, everyone else's name. */
export function resourceName(typeUrl: string, json: JsonObject): string | undefined {
  const field = typeUrl === TYPE_URL.clusterLoadAssignment ? json.cluster_name : json.name;
  return typeof field === "string" && field !== "" ? field : undefined;
}

/**
 * Decodes every resource; a resource of another type than the response's, one that fails to
 * decode, one without a name and a name given twice are errors (the whole response is then
 * rejected, as Envoy does). Delta's name wins over the resource's own when both are present.
 */
export function decodeResources(typeUrl: string, raw: readonly RawResource[]): Decoded {
  const resources = new Map<string, DecodedResource>();
  const errors: string[] = [];
  raw.forEach((entry, index) => {
    const label = entry.name ? `resource ${JSON.stringify(entry.name)}` : `resource #${index}`;
    const any = entry.any;
    if (!any) {
      errors.push(`${label}: no resource body`);
      return;
    }
    if (any.type_url !== typeUrl) {
      errors.push(`${label}: type ${any.type_url || "(none)"} in a response for ${typeUrl}`);
      return;
    }
    let json: JsonObject;
    try {
      json = decodeResource(any);
    } catch (error) {
      errors.push(`${label}: cannot decode: ${describeError(error)}`);
      return;
    }
    const name = entry.name || resourceName(typeUrl, json);
    if (!name) {
      errors.push(`${label}: the resource has no name`);
      return;
    }
    if (resources.has(name)) {
      errors.push(`resource ${JSON.stringify(name)} appears more than once`);
      return;
    }
    resources.set(name, { json, version: entry.version });
  });
  return { resources, errors };
}

/** Bound on a NACK's error_detail message: servers log it, and gRPC limits message sizes. */
const MAX_MESSAGE = 16 * 1024;

/** All errors in one error_detail message, one per line, cut at a sane size. */
export function nackMessage(errors: readonly string[]): string {
  const message = errors.join("\n");
  if (message.length <= MAX_MESSAGE) return message;
  const kept = message.slice(0, MAX_MESSAGE);
  const shown = kept.split("\n").length;
  return `${kept}… (cut; ${errors.length} error(s) in all, ${errors.length - shown} not shown)`;
}
