// Envoy's v3 API (the .proto files shipped inside @grpc/grpc-js-xds under deps/) as one
// protobufjs Root, with field names kept as written in the protos (snake_case, as Envoy's own
// YAML and config dumps use). Every proxy needs it at start, and parsing the .proto text costs
// a quarter of a proxy's start-up, so the Root is built from descriptors generated once
// (scripts/generate-envoy-descriptors.ts; a test keeps them equal to the protos). Loaded once
// per process, a declaration at a time: looking a name up adds its declaration and everything that
// needs (envoy-declarations.ts). A proxy decodes its resources through plans generated ahead of
// time (envoy-decode-plans.ts) and builds only the few declarations it encodes.
// Istio's own filter configs that istiod sends to Envoy (CREMA_PROTO_FILES, crema's .proto copies
// under ./protos) are in the same Root, so their typed configs encode and decode like Envoy's.
import { accessSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";
import declarations from "./envoy-declarations.generated.json" with { type: "json" };
import descriptors from "./envoy-descriptors.generated.json" with { type: "json" };
import { resolveFeatures } from "./protobuf-features.ts";

const require = createRequire(import.meta.url);

/** Every proto crema encodes or decodes; their imports come along. */
export const ENVOY_PROTO_FILES = [
  "envoy/service/discovery/v3/ads.proto",
  "envoy/service/discovery/v3/discovery.proto",
  "envoy/config/listener/v3/listener.proto",
  "envoy/config/route/v3/route.proto",
  "envoy/config/cluster/v3/cluster.proto",
  "envoy/config/endpoint/v3/endpoint.proto",
  "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto",
  "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto",
  "envoy/extensions/filters/network/rbac/v3/rbac.proto",
  "envoy/extensions/filters/http/router/v3/router.proto",
  "envoy/extensions/filters/http/fault/v3/fault.proto",
  "envoy/extensions/filters/http/cors/v3/cors.proto",
  "envoy/extensions/filters/http/rbac/v3/rbac.proto",
  "envoy/extensions/filters/http/jwt_authn/v3/config.proto",
  "envoy/extensions/filters/http/ext_authz/v3/ext_authz.proto",
  "envoy/extensions/filters/http/grpc_stats/v3/config.proto",
  "envoy/extensions/filters/network/ext_authz/v3/ext_authz.proto",
  "envoy/service/auth/v3/external_auth.proto",
  "envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto",
  "envoy/extensions/filters/listener/http_inspector/v3/http_inspector.proto",
  "envoy/extensions/filters/listener/original_dst/v3/original_dst.proto",
  "envoy/extensions/transport_sockets/tls/v3/tls.proto",
  "envoy/extensions/transport_sockets/tls/v3/secret.proto",
  "envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer.proto",
  "envoy/extensions/upstreams/http/v3/http_protocol_options.proto",
  "envoy/extensions/load_balancing_policies/ring_hash/v3/ring_hash.proto",
  "envoy/extensions/load_balancing_policies/maglev/v3/maglev.proto",
  "envoy/extensions/load_balancing_policies/least_request/v3/least_request.proto",
  "envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto",
  "envoy/extensions/load_balancing_policies/random/v3/random.proto",
  "envoy/extensions/clusters/aggregate/v3/cluster.proto",
  "envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto",
  "envoy/extensions/retry/priority/previous_priorities/v3/previous_priorities_config.proto",
  "envoy/extensions/access_loggers/file/v3/file.proto",
  "envoy/extensions/access_loggers/stream/v3/stream.proto",
  "envoy/extensions/access_loggers/filters/cel/v3/cel.proto",
  "envoy/config/trace/v3/opentelemetry.proto",
  "envoy/config/trace/v3/zipkin.proto",
  "envoy/service/status/v3/csds.proto",
  "envoy/admin/v3/config_dump.proto",
];

/**
 * Istio's extension configs, as crema writes them (./protos): the `istio.stats` filter and the
 * `istio.metadata_exchange` network filter.
 */
export const CREMA_PROTO_FILES = ["istio_stats/config.proto", "metadata_exchange/config.proto"];

function includeDirs(): string[] {
  const xdsRoot = dirname(require.resolve("@grpc/grpc-js-xds/package.json"));
  const protobufRoot = dirname(require.resolve("protobufjs/package.json"));
  const deps = ["envoy-api", "googleapis", "protoc-gen-validate", "xds", "cncf-xds"].map((d) =>
    join(xdsRoot, "deps", d),
  );
  return [fileURLToPath(new URL("./protos", import.meta.url)), ...deps, protobufRoot];
}

/**
 * Parses ENVOY_PROTO_FILES and CREMA_PROTO_FILES from the .proto text (the generator's and the
 * sync test's path).
 */
export function loadEnvoyProtoFiles(): protobuf.Root {
  const dirs = includeDirs();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of dirs) {
      const candidate = join(dir, target);
      try {
        accessSync(candidate);
        return candidate;
      } catch {
        // try the next include directory
      }
    }
    return target;
  };
  root.loadSync([...ENVOY_PROTO_FILES, ...CREMA_PROTO_FILES], { keepCase: true });
  root.resolveAll();
  return root;
}

/** The descriptor JSON of each package and declaration, as the generator wrote it. */
interface DescriptorJson {
  nested?: Record<string, DescriptorJson>;
  options?: Record<string, unknown>;
  /** Set on extensions: the message they extend. */
  extend?: string;
}

/**
 * A Root that adds a declaration, and the declarations it needs, the first time a name in it is
 * looked up from the root, which is how every lookup by full name arrives (protobufjs's own
 * relative lookups stay inside what is already added, because everything a declaration needs is
 * added with it).
 */
class EnvoyRoot extends protobuf.Root {
  /** Declarations not added yet, by full name. */
  private readonly pending = new Map(declarations.names.map((name, index) => [name, index]));

  override lookup(
    path: string | string[],
    filterTypes?: unknown,
    parentAlreadyChecked?: boolean,
  ): protobuf.ReflectionObject | null {
    if (this.pending.size > 0)
      this.addDeclarationOf(typeof path === "string" ? path.split(".") : path);
    return super.lookup(path, filterTypes as never, parentAlreadyChecked);
  }

  private addDeclarationOf(parts: readonly string[]): void {
    let name = "";
    for (const part of parts) {
      if (part === "") continue;
      name = name === "" ? part : `${name}.${part}`;
      const index = this.pending.get(name);
      if (index !== undefined) {
        this.addWithNeeds(index);
        return;
      }
    }
  }

  private addWithNeeds(first: number): void {
    const adding: string[] = [];
    const stack = [first];
    while (stack.length > 0) {
      const index = stack.pop()!;
      const name = declarations.names[index]!;
      if (!this.pending.delete(name)) continue;
      adding.push(name);
      stack.push(...declarations.needs[index]!);
    }
    const json = adding.map((name) => [name, descriptorOf(name)] as const);
    // Extensions last: protobufjs attaches an extension to the message it extends only if it
    // finds that message when the extension is added, and settles the extension's features once.
    for (const [name, declaration] of json)
      if (declaration.extend === undefined) this.addDeclaration(name, declaration);
    for (const [name, declaration] of json)
      if (declaration.extend !== undefined) this.addDeclaration(name, declaration);
    resolveFeatures(this);
  }

  /** Adds one declaration to its package, creating the package's namespaces as the JSON has them. */
  private addDeclaration(fullName: string, declaration: DescriptorJson): void {
    const parts = fullName.split(".");
    const name = parts.pop()!;
    let namespace: protobuf.Namespace = this;
    let json = descriptors as DescriptorJson;
    for (const part of parts) {
      json = json.nested![part]!;
      let next = namespace.get(part) as protobuf.Namespace | null;
      if (next === null) {
        next = new protobuf.Namespace(part, json.options);
        namespace.add(next);
      }
      namespace = next;
    }
    namespace.addJSON({ [name]: declaration } as never);
  }
}

function descriptorOf(fullName: string): DescriptorJson {
  let json = descriptors as DescriptorJson;
  for (const part of fullName.split(".")) json = json.nested![part]!;
  return json;
}

/**
 * A new Root of the generated descriptors. Not Root.fromJSON: it builds every declaration and
 * its resolveAll() looks up the type of every field of every message, while a proxy uses a
 * fraction of them; protobufjs resolves a field on first use (Field.resolve, Type.setup), and so
 * does the decoder.
 */
export function createEnvoyRoot(): protobuf.Root {
  return new EnvoyRoot();
}

let loaded: protobuf.Root | undefined;

export function envoyProtos(): protobuf.Root {
  loaded ??= createEnvoyRoot();
  return loaded;
}

export function messageType(fullName: string): protobuf.Type {
  return envoyProtos().lookupType(fullName);
}
