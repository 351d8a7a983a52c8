// Bad input never crashes: a corpus of hostile documents and thousands of seeded mutations
// of valid configuration must each yield clean diagnostics — catalogued codes, readable
// messages — and never an exception or an internal error.
import { describe, expect, it } from "vitest";
import { isErrorCode } from "../src/base/error-catalogue.ts";
import { analyzeResources } from "../src/config/analysis/index.ts";
import type { Diagnostic } from "../src/config/diagnostic.ts";
import { renderDiagnostics } from "../src/config/format-diagnostics.ts";
import { decodeSource } from "../src/config/source-file.ts";
import { validateSources } from "../src/config/validate.ts";

function check(path: string, bytes: Uint8Array | string): Diagnostic[] {
  const decoded = decodeSource(
    path,
    typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes,
  );
  if (!("text" in decoded)) return [decoded];
  const { resources, diagnostics } = validateSources([decoded]);
  const all = [...diagnostics, ...analyzeResources(resources)];
  renderDiagnostics(all, "text", new Map([[path, decoded.text]]));
  renderDiagnostics(all, "json", new Map());
  return all;
}

function expectClean(diagnostics: Diagnostic[]): void {
  for (const d of diagnostics) {
    expect(isErrorCode(d.code), `uncatalogued code ${d.code}`).toBe(true);
    expect(d.code, d.message).not.toBe("CREMA_BASE_INTERNAL");
    expect(d.message).not.toMatch(/\n\s+at /); // no stack traces
    expect(d.message.length).toBeGreaterThan(0);
  }
}

const VALID = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
  namespace: shop
spec:
  hosts: [reviews]
  gateways: [mesh]
  http:
  - match:
    - headers:
        end-user: {exact: jason}
      uri: {prefix: /api}
    - uri: {regex: "^/v[0-9]+/.*"}
    route:
    - destination: {host: reviews, subset: v2, port: {number: 9080}}
      weight: 80
    - destination: {host: reviews, subset: v1}
      weight: 20
    timeout: 2s
    retries: {attempts: 3, perTryTimeout: 500ms, retryOn: "5xx,reset"}
    fault:
      delay: {fixedDelay: 1s, percentage: {value: 10}}
    mirror: {host: reviews, subset: v1}
    mirrorPercentage: {value: 5}
    headers:
      request: {set: {x-a: b}, remove: [x-c]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: {consistentHash: {httpHeaderName: x-user}}
    connectionPool: {tcp: {maxConnections: 10, connectTimeout: 1s}, http: {http1MaxPendingRequests: 5}}
    outlierDetection: {consecutive5xxErrors: 3, interval: 5s, baseEjectionTime: 30s, maxEjectionPercent: 50}
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow, namespace: shop}
spec:
  selector: {matchLabels: {app: reviews}}
  action: ALLOW
  rules:
  - from: [{source: {principals: ["cluster.local/ns/shop/sa/web"], ipBlocks: ["10.0.0.0/8"]}}]
    to: [{operation: {methods: [GET], paths: ["/api/*"], ports: ["9080"]}}]
    when: [{key: "request.headers[x-user]", values: ["a*"]}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: shop}
spec:
  hosts: [api.example.com]
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: DNS
  location: MESH_EXTERNAL
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: shop}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080, targetPort: 9080}]
`;

/** Small deterministic PRNG (mulberry32) so every run sees the same mutations. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const REPLACEMENTS = [
  "",
  "null",
  "[]",
  "{}",
  "-1",
  "0",
  "99999999999",
  "1.5",
  "true",
  '"x"',
  "*",
  "~",
  "&a",
  "*a",
  "!!binary",
  "\t",
  ": :",
  "- -",
  "'",
  '"',
  "{",
  "[",
  "0s",
  "-5s",
  "é",
  "\u0000",
];

function mutate(text: string, random: () => number): string {
  const lines = text.split("\n");
  const edits = 1 + Math.floor(random() * 3);
  for (let e = 0; e < edits; e++) {
    const i = Math.floor(random() * lines.length);
    const line = lines[i] ?? "";
    switch (Math.floor(random() * 6)) {
      case 0: // replace a value
        lines[i] = line.replace(
          /:\s.*$/,
          `: ${REPLACEMENTS[Math.floor(random() * REPLACEMENTS.length)]}`,
        );
        break;
      case 1: // delete a line
        lines.splice(i, 1);
        break;
      case 2: // duplicate a line
        lines.splice(i, 0, line);
        break;
      case 3: // change indentation
        lines[i] = random() < 0.5 ? line.slice(2) : `  ${line}`;
        break;
      case 4: {
        // corrupt one character
        const at = Math.floor(random() * Math.max(1, line.length));
        const char = String.fromCharCode(32 + Math.floor(random() * 95));
        lines[i] = line.slice(0, at) + char + line.slice(at + 1);
        break;
      }
      default: // rename a key
        lines[i] = line.replace(
          /^(\s*-?\s*)([A-Za-z]+)/,
          (_m, pre: string, key: string) => `${pre}${key.slice(1)}${key[0]}`,
        );
    }
  }
  return lines.join("\n");
}

describe("hostile input", () => {
  it("the base document is clean (so mutations start from valid config)", () => {
    expect(check("base.yaml", VALID).filter((d) => d.severity === "error")).toEqual([]);
  });

  const billionLaughs = [
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    ...Array.from({ length: 9 }, (_, i) => {
      const name = String.fromCharCode(98 + i);
      const prev = String.fromCharCode(97 + i);
      return `${name}: &${name} [${Array(9).fill(`*${prev}`).join(",")}]`;
    }),
  ].join("\n");

  const corpus: Array<[string, Uint8Array | string]> = [
    ["empty", ""],
    ["only separators", "---\n---\n...\n"],
    ["only comments", "# nothing here\n"],
    ["binary", new Uint8Array(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256))],
    ["nul bytes", "apiVersion: v1\u0000\nkind: Service\n"],
    ["invalid utf-8", new Uint8Array([0x61, 0x3a, 0x20, 0xc3, 0x28, 0x0a])],
    ["billion laughs", billionLaughs],
    [
      "self-referencing anchor",
      "apiVersion: v1\nkind: ConfigMap\nmetadata: &m\n  name: x\n  labels: *m\n",
    ],
    ["deep nesting", `spec: ${"{a: ".repeat(3000)}1${"}".repeat(3000)}\n`],
    [
      "deep block nesting",
      Array.from({ length: 500 }, (_, i) => `${" ".repeat(i)}a${i}:`).join("\n"),
    ],
    ["duplicate keys", "apiVersion: v1\nkind: Service\nkind: Pod\nmetadata: {name: x}\n"],
    ["top-level list", "- apiVersion: v1\n  kind: Service\n"],
    ["top-level scalar", "42\n"],
    ["top-level string", "hello world\n"],
    ["unknown kind", "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: x}\n"],
    ["kind is a number", "apiVersion: v1\nkind: 7\nmetadata: {name: x}\n"],
    ["metadata is a list", "apiVersion: v1\nkind: Service\nmetadata: [a]\n"],
    [
      "spec is a string",
      "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\nspec: hello\n",
    ],
    [
      "hosts is a map",
      "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\nspec: {hosts: {a: b}, http: 3}\n",
    ],
    ["tabs", "apiVersion: v1\nkind: Service\nmetadata:\n\tname: x\n"],
    ["unterminated quote", 'apiVersion: "v1\nkind: Service\n'],
    [
      "yaml tags",
      "apiVersion: !!binary aGVsbG8=\nkind: !custom Service\nmetadata: {name: !!int x}\n",
    ],
    [
      "huge scalar",
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  blob: ${"x".repeat(2_000_000)}\n`,
    ],
    [
      "many documents",
      Array.from(
        { length: 3000 },
        (_, i) => `apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa-${i}}\n`,
      ).join("---\n"),
    ],
    [
      "prototype keys",
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, labels: {__proto__: x, constructor: y}}\ndata: {__proto__: {polluted: true}}\n",
    ],
    [
      "json garbage",
      '{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"ports": [{"port": "http"}]}',
    ],
  ];

  it.each(corpus)("%s → clean diagnostics, no crash", (name, input) => {
    const diagnostics = check(`${name}.yaml`, input);
    expectClean(diagnostics);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("thousands of seeded mutations of valid config → clean diagnostics, no crash", () => {
    const random = prng(20261125);
    let withFindings = 0;
    for (let i = 0; i < 2000; i++) {
      const diagnostics = check(`mutation-${i}.yaml`, mutate(VALID, random));
      expectClean(diagnostics);
      if (diagnostics.length > 0) withFindings++;
    }
    // Most mutations break something; the run must have exercised the error paths.
    expect(withFindings).toBeGreaterThan(1000);
  });
});
