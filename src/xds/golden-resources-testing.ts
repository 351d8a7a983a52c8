// The Envoy resources crema's golden translation tests hold (testdata/translate, and the typed
// configs of testdata/authz and testdata/authn), for the tests that hold the proto3-JSON codecs to
// protobufjs's own: every shape the control plane really sends.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type protobuf from "protobufjs";
import { parse } from "yaml";
import { envoyProtos } from "./envoy-protos.ts";
import { messageNameOf, TYPE_URL } from "./type-urls.ts";

const TESTDATA = join(import.meta.dirname, "../../testdata");

export interface GoldenResource {
  /** File, proxy, kind and index, for failure messages. */
  readonly label: string;
  readonly type: protobuf.Type;
  readonly json: unknown;
}

export function envoyType(typeUrl: string): protobuf.Type {
  return envoyProtos().lookupType(messageNameOf(typeUrl));
}

function goldenFiles(dir: string): string[] {
  return readdirSync(join(TESTDATA, dir))
    .filter((f) => f.endsWith(".golden.yaml"))
    .map((f) => join(TESTDATA, dir, f));
}

/** Every object carrying "@type" (the typed configs) anywhere in a parsed document. */
export function typedConfigs(value: unknown, found: Record<string, unknown>[] = []) {
  if (Array.isArray(value)) for (const v of value) typedConfigs(v, found);
  else if (typeof value === "object" && value !== null) {
    const object = value as Record<string, unknown>;
    if (typeof object["@type"] === "string") found.push(object);
    for (const v of Object.values(object)) typedConfigs(v, found);
  }
  return found;
}

/** Every listener, route configuration, cluster and endpoint assignment of the translation
 * goldens, with its type. */
export function goldenResources(): GoldenResource[] {
  const kinds = {
    listeners: TYPE_URL.listener,
    routes: TYPE_URL.routeConfiguration,
    clusters: TYPE_URL.cluster,
    endpoints: TYPE_URL.clusterLoadAssignment,
  } as const;
  const found: GoldenResource[] = [];
  for (const file of goldenFiles("translate")) {
    const golden = parse(readFileSync(file, "utf8")) as Record<string, Record<string, unknown[]>>;
    for (const [proxy, resources] of Object.entries(golden))
      for (const [kind, typeUrl] of Object.entries(kinds))
        for (const [i, json] of (resources[kind] ?? []).entries())
          found.push({
            label: `${file.slice(TESTDATA.length + 1)} ${proxy} ${kind}[${i}]`,
            type: envoyType(typeUrl),
            json,
          });
  }
  return found;
}

/** The typed configs (Any) of the authorization and authentication goldens. */
export function goldenTypedConfigs(): Record<string, unknown>[] {
  return [...goldenFiles("authz"), ...goldenFiles("authn")].flatMap((file) =>
    typedConfigs(parse(readFileSync(file, "utf8"))),
  );
}
