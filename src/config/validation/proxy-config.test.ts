// ProxyConfig semantic validation: a clean ProxyConfig and a table of invalid cases.
import { describe, it } from "vitest";
import { expectClean, invalidCases } from "../testing.ts";

/** A ProxyConfig whose spec body starts on line 6. */
const pc = (body: string) => `apiVersion: networking.istio.io/v1beta1
kind: ProxyConfig
metadata:
  name: pc
spec:
${body}`;

describe("ProxyConfig semantics", () => {
  it("accepts a selector, concurrency, environment variables and an image type", () => {
    expectClean(`apiVersion: networking.istio.io/v1beta1
kind: ProxyConfig
metadata:
  name: ratings
  namespace: bookinfo
spec:
  selector:
    matchLabels:
      app: ratings
  concurrency: 0
  environmentVariables:
    ISTIO_META_DNS_CAPTURE: "true"
  image:
    imageType: distroless
`);
  });
});

describe("ProxyConfig invalid cases", () => {
  invalidCases([
    {
      name: "negative concurrency",
      yaml: pc("  concurrency: -1\n"),
      code: "CREMA_VALIDATION_RANGE",
      path: "spec.concurrency",
      line: 6,
      column: 16,
    },
    {
      name: "empty selector key",
      yaml: pc('  selector:\n    matchLabels:\n      "": bar\n'),
      code: "CREMA_VALIDATION_LABELS",
      path: 'spec.selector.matchLabels[""]',
      line: 8,
      column: 11,
    },
    {
      name: "wildcard selector value",
      yaml: pc('  selector:\n    matchLabels:\n      app: "*"\n'),
      code: "CREMA_VALIDATION_LABELS",
      path: "spec.selector.matchLabels.app",
      line: 8,
      column: 12,
    },
    {
      name: "selector without labels (warning)",
      yaml: pc("  selector: {}\n"),
      code: "CREMA_VALIDATION_LABELS",
      path: "spec.selector.matchLabels",
      line: 6,
      column: 13,
      severity: "warning",
    },
  ]);
});
