// Generates src/api/schemas.generated.json: a compact field tree for every kind crema reads,
// derived from the published type definitions of @kubernetes-models/istio (Istio's CRD
// schemas) and kubernetes-models (Kubernetes' OpenAPI). The config library's schema level uses
// it to report unknown fields, wrong types, enums and required fields with exact paths.
// Run: node scripts/generate-schemas.ts
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import ts from "typescript-api";

const require = createRequire(import.meta.url);
const istioRoot = dirname(require.resolve("@kubernetes-models/istio/package.json"));
const k8sRoot = dirname(require.resolve("kubernetes-models/package.json"));

const ISTIO_KINDS = [
  "extensions.istio.io/v1alpha1/WasmPlugin",
  "install.istio.io/v1alpha1/IstioOperator",
  ...["v1", "v1beta1", "v1alpha3"].flatMap((v) =>
    [
      "DestinationRule",
      "Gateway",
      "ServiceEntry",
      "Sidecar",
      "VirtualService",
      "WorkloadEntry",
      "WorkloadGroup",
    ].map((k) => `networking.istio.io/${v}/${k}`),
  ),
  "networking.istio.io/v1alpha3/EnvoyFilter",
  "networking.istio.io/v1beta1/ProxyConfig",
  ...["v1", "v1beta1"].flatMap((v) =>
    ["AuthorizationPolicy", "PeerAuthentication", "RequestAuthentication"].map(
      (k) => `security.istio.io/${v}/${k}`,
    ),
  ),
  "telemetry.istio.io/v1/Telemetry",
  "telemetry.istio.io/v1alpha1/Telemetry",
];

// apiVersion/kind → d.ts path inside kubernetes-models
const K8S_KINDS: Record<string, string> = {
  "v1/Namespace": "v1/Namespace",
  "v1/Service": "v1/Service",
  "v1/Pod": "v1/Pod",
  "v1/ServiceAccount": "v1/ServiceAccount",
  "v1/Secret": "v1/Secret",
  "v1/ConfigMap": "v1/ConfigMap",
  "v1/Endpoints": "v1/Endpoints",
  "apps/v1/Deployment": "apps/v1/Deployment",
  "discovery.k8s.io/v1/EndpointSlice": "discovery.k8s.io/v1/EndpointSlice",
};

type SchemaNode =
  | { t: "string" | "number" | "integer" | "boolean" | "any" | "intstr" }
  | { t: "enum"; v: string[] }
  | { t: "array" | "map"; i: number }
  | { t: "object"; p: Record<string, [number, 0 | 1]> };

const files = [
  ...ISTIO_KINDS.map((k) => join(istioRoot, `${k}.d.ts`)),
  ...Object.values(K8S_KINDS).map((p) => join(k8sRoot, `${p}.d.ts`)),
];
const program = ts.createProgram(files, { strict: true, skipLibCheck: true, noEmit: true });
const checker = program.getTypeChecker();

const nodes: SchemaNode[] = [];
const byKey = new Map<string, number>();
const byType = new Map<ts.Type, number>();

function intern(node: SchemaNode): number {
  const key = JSON.stringify(node);
  const existing = byKey.get(key);
  if (existing !== undefined) return existing;
  nodes.push(node);
  byKey.set(key, nodes.length - 1);
  return nodes.length - 1;
}

// The d.ts files say only "number"; fields named like these are integers in Istio's protos.
const INTEGER_HINT =
  /^(port|number|weight|attempts|count|size|max|min)|(Port|Number|Weight|Count|Size|Percent|Attempts)$/;

function convert(type: ts.Type, fieldName = ""): number {
  const cached = byType.get(type);
  if (cached !== undefined) return cached;
  const flags = type.getFlags();
  if (flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return intern({ t: "any" });
  if (flags & ts.TypeFlags.StringLiteral)
    return intern({ t: "enum", v: [(type as ts.StringLiteralType).value] });
  if (flags & ts.TypeFlags.String) return intern({ t: "string" });
  if (flags & ts.TypeFlags.Number)
    return intern({ t: INTEGER_HINT.test(fieldName) ? "integer" : "number" });
  if (flags & (ts.TypeFlags.Boolean | ts.TypeFlags.BooleanLiteral)) return intern({ t: "boolean" });
  if (type.isUnion()) {
    const parts = type.types.filter(
      (t) => !(t.getFlags() & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)),
    );
    if (parts.every((t) => t.getFlags() & ts.TypeFlags.BooleanLiteral))
      return intern({ t: "boolean" });
    if (parts.every((t) => t.isStringLiteral())) {
      return intern({ t: "enum", v: parts.map((t) => (t as ts.StringLiteralType).value).sort() });
    }
    const kinds = new Set(
      parts.map((t) =>
        t.getFlags() & ts.TypeFlags.NumberLike
          ? "n"
          : t.getFlags() & ts.TypeFlags.StringLike
            ? "s"
            : "o",
      ),
    );
    if (kinds.size === 2 && kinds.has("n") && kinds.has("s")) return intern({ t: "intstr" });
    if (parts.length === 1) return convert(parts[0]!, fieldName);
    // oneOf variants of one message (StringMatch, LoadBalancerSettings …): a field may be any
    // variant's field; it is required only when every variant requires it.
    if (
      parts.every(
        (t) =>
          t.getFlags() & (ts.TypeFlags.Object | ts.TypeFlags.Intersection) &&
          !checker.isArrayType(t),
      )
    ) {
      return convertObject(
        type,
        parts.flatMap((t) => t.getProperties()),
        parts.length,
      );
    }
    return intern({ t: "any" });
  }
  // A field redeclared by several oneOf variants reaches us as `T[] & T[]` (or `T[] & {}`):
  // that is the array itself, not an object with Array's methods as fields.
  if (type.isIntersection()) {
    const arrays = type.types.filter((t) => checker.isArrayType(t));
    if (
      arrays.length > 0 &&
      type.types.every((t) => checker.isArrayType(t) || t.getProperties().length === 0)
    )
      return convert(arrays[0]!, fieldName);
  }
  if (checker.isArrayType(type)) {
    const [element] = checker.getTypeArguments(type as ts.TypeReference);
    return intern({ t: "array", i: convert(element!, fieldName) });
  }
  const index = type.getStringIndexType();
  if (index && type.getProperties().length === 0) return intern({ t: "map", i: convert(index) });
  // `{}` stands for google.protobuf.Struct / preserve-unknown-fields: anything goes.
  if (type.getProperties().length === 0) return intern({ t: "any" });
  return convertObject(type, type.getProperties(), 1);
}

function convertObject(type: ts.Type, symbols: ts.Symbol[], variants: number): number {
  // Objects may be recursive (JSONSchemaProps): reserve a slot before descending.
  const placeholder = nodes.length;
  nodes.push({ t: "object", p: {} });
  byType.set(type, placeholder);
  const properties: Record<string, [number, 0 | 1]> = {};
  const requiredCount = new Map<string, number>();
  for (const symbol of symbols) {
    const declaration = symbol.valueDeclaration ?? symbol.declarations?.[0];
    if (!declaration) continue;
    const name = symbol.getName();
    const optional = (symbol.getFlags() & ts.SymbolFlags.Optional) !== 0;
    if (!optional) requiredCount.set(name, (requiredCount.get(name) ?? 0) + 1);
    if (properties[name]) continue;
    properties[name] = [convert(checker.getTypeOfSymbolAtLocation(symbol, declaration), name), 0];
  }
  for (const [name, count] of requiredCount) {
    if (count === variants && properties[name]) properties[name][1] = 1;
  }
  nodes[placeholder] = { t: "object", p: properties };
  return placeholder;
}

function rootOf(file: string, interfaceName: string): number {
  const source = program.getSourceFile(file);
  if (!source) throw new Error(`cannot load ${file}`);
  const symbol = checker.getSymbolAtLocation(source);
  const exported =
    symbol && checker.getExportsOfModule(symbol).find((s) => s.getName() === interfaceName);
  if (!exported) throw new Error(`${interfaceName} not found in ${file}`);
  return convert(checker.getDeclaredTypeOfSymbol(exported));
}

const kinds: Record<string, number> = {};
for (const kind of ISTIO_KINDS) {
  const name = kind.split("/").at(-1)!;
  kinds[kind] = rootOf(join(istioRoot, `${kind}.d.ts`), `I${name}`);
}
// IstioOperator's CRD preserves unknown fields under spec; its published type omits spec.
const operator = nodes[kinds["install.istio.io/v1alpha1/IstioOperator"]!]!;
if (operator.t === "object") operator.p.spec = [intern({ t: "any" }), 0];
for (const [kind, path] of Object.entries(K8S_KINDS)) {
  const name = kind.split("/").at(-1)!;
  kinds[kind] = rootOf(join(k8sRoot, `${path}.d.ts`), `I${name}`);
}

const out = new URL("../src/api/schemas.generated.json", import.meta.url);
writeFileSync(out, `${JSON.stringify({ kinds, nodes })}\n`);
console.log(`wrote ${Object.keys(kinds).length} kinds, ${nodes.length} schema nodes`);
