// ext_authz's gRPC side: envoy.service.auth.v3.Authorization/Check with @grpc/grpc-js, the
// messages encoded with the generated Envoy descriptors. One channel per authorizer host, kept
// while the filter lives; every call carries a deadline, so a silent authorizer is an error.
import * as grpc from "@grpc/grpc-js";
import { messageType } from "../../xds/envoy-protos.ts";

const CHECK_PATH = "/envoy.service.auth.v3.Authorization/Check";
const OK = 0;

/** What the CheckRequest says about the request (AttributeContext, the parts crema fills). */
export interface CheckAttributes {
  source: { ip: string; port: number } | undefined;
  destination: { ip: string; port: number } | undefined;
  /** The peer's SPIFFE identity when the connection was mTLS. */
  principal: string;
  method: string;
  path: string;
  host: string;
  scheme: string;
  protocol: string;
  headers: Record<string, string>;
}

export type CheckAnswer =
  | {
      kind: "ok";
      headers: Array<{ name: string; value: string; append: boolean }>;
      headersToRemove: string[];
      responseHeaders: Array<[string, string]>;
    }
  | { kind: "denied"; status: number; headers: Array<[string, string]>; body: string }
  | { kind: "error"; message: string };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** HeaderValueOptions as name, value and whether to append. */
function headerOptions(list: unknown): Array<{ name: string; value: string; append: boolean }> {
  if (!Array.isArray(list)) return [];
  return list.flatMap((option) => {
    if (!isObj(option) || !isObj(option.header)) return [];
    const name = String(option.header.key ?? "").toLowerCase();
    const raw = option.header.raw_value;
    const value =
      typeof option.header.value === "string" && option.header.value !== ""
        ? option.header.value
        : raw instanceof Uint8Array
          ? Buffer.from(raw).toString()
          : "";
    // The authorizer's headers replace the request's unless it asks to append (Envoy's ext_authz
    // reads the legacy `append` flag; append_action's default would append everywhere).
    const append = isObj(option.append) && option.append.value === true;
    return name ? [{ name, value, append }] : [];
  });
}

function address(peer: { ip: string; port: number } | undefined): Obj | undefined {
  return peer && { address: { socket_address: { address: peer.ip, port_value: peer.port } } };
}

function checkRequest(attrs: CheckAttributes): Buffer {
  const type = messageType("envoy.service.auth.v3.CheckRequest");
  const query = attrs.path.indexOf("?");
  const object = {
    attributes: {
      source: { ...address(attrs.source), principal: attrs.principal },
      destination: address(attrs.destination),
      request: {
        time: { seconds: Math.floor(Date.now() / 1000), nanos: 0 },
        http: {
          method: attrs.method,
          headers: attrs.headers,
          path: attrs.path,
          host: attrs.host,
          scheme: attrs.scheme,
          query: query >= 0 ? attrs.path.slice(query + 1) : "",
          protocol: attrs.protocol,
          size: -1,
        },
      },
    },
  };
  return Buffer.from(type.encode(type.fromObject(object)).finish());
}

/** The CheckResponse as Envoy's gRPC client reads it. */
export function readCheckResponse(bytes: Uint8Array): CheckAnswer {
  const type = messageType("envoy.service.auth.v3.CheckResponse");
  const message = type.toObject(type.decode(bytes), { enums: String, longs: Number }) as Obj;
  const code = isObj(message.status) ? Number(message.status.code ?? 0) : OK;
  if (code === OK) {
    const ok = isObj(message.ok_response) ? message.ok_response : {};
    const removes = Array.isArray(ok.headers_to_remove) ? ok.headers_to_remove.map(String) : [];
    return {
      kind: "ok",
      headers: headerOptions(ok.headers),
      headersToRemove: removes.map((h) => h.toLowerCase()),
      responseHeaders: headerOptions(ok.response_headers_to_add).map((h) => [h.name, h.value]),
    };
  }
  const denied = isObj(message.denied_response) ? message.denied_response : {};
  const status = isObj(denied.status) ? denied.status.code : undefined;
  const numeric = typeof status === "number" ? status : Number.NaN;
  return {
    kind: "denied",
    // Envoy's default for a denial without a status: 403.
    status: Number.isInteger(numeric) && numeric > 0 ? numeric : 403,
    headers: headerOptions(denied.headers).map((h) => [h.name, h.value]),
    body: typeof denied.body === "string" ? denied.body : "",
  };
}

interface Target {
  address: string;
  port: number;
  authority: string;
}

/** Channels to the authorizer's hosts, by address and authority. */
export class GrpcAuthorizationClients {
  private readonly clients = new Map<string, grpc.Client>();

  private client(target: Target): grpc.Client {
    const host = target.address.includes(":") ? `[${target.address}]` : target.address;
    const key = `${host}:${target.port}|${target.authority}`;
    let client = this.clients.get(key);
    if (!client) {
      client = new grpc.Client(`${host}:${target.port}`, grpc.credentials.createInsecure(), {
        "grpc.default_authority": target.authority,
      });
      this.clients.set(key, client);
    }
    return client;
  }

  check(
    target: Target,
    attrs: CheckAttributes,
    options: { timeoutMs: number; metadata: ReadonlyArray<readonly [string, string]> },
  ): Promise<CheckAnswer> {
    return new Promise((resolve) => {
      const metadata = new grpc.Metadata();
      for (const [name, value] of options.metadata) metadata.add(name, value);
      try {
        this.client(target).makeUnaryRequest(
          CHECK_PATH,
          (request: CheckAttributes) => checkRequest(request),
          (bytes: Buffer) => bytes,
          attrs,
          metadata,
          { deadline: Date.now() + options.timeoutMs },
          (error, bytes) => {
            if (error || !bytes) {
              resolve({ kind: "error", message: error?.message ?? "empty response" });
              return;
            }
            try {
              resolve(readCheckResponse(bytes));
            } catch (decodeError) {
              resolve({ kind: "error", message: String(decodeError) });
            }
          },
        );
      } catch (error) {
        resolve({ kind: "error", message: String(error) });
      }
    });
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}
