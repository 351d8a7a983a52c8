import { describe, expect, it } from "vitest";
import {
  DEFAULT_RETRY_ON,
  parseRetryOn,
  previousHostsPredicate,
  translateRetryPolicy,
} from "./route-retry.ts";
import type { Obj } from "./route-values.ts";

const previousHosts = previousHostsPredicate();
const DEFAULT = {
  retry_on: DEFAULT_RETRY_ON,
  num_retries: 2,
  host_selection_retry_max_attempts: "5",
  retry_host_predicate: [previousHosts],
};

describe("translateRetryPolicy (Istio's retry.ConvertPolicy)", () => {
  const cases: Array<{
    name: string;
    retries: Obj | undefined;
    hash?: boolean;
    expected: unknown;
  }> = [
    { name: "no retries: Istio's default", retries: undefined, expected: DEFAULT },
    {
      name: "consistent hashing keeps retries on the hashed host",
      retries: undefined,
      hash: true,
      expected: {
        retry_on: DEFAULT_RETRY_ON,
        num_retries: 2,
        host_selection_retry_max_attempts: "5",
      },
    },
    { name: "attempts: 0 disables retries", retries: { attempts: 0 }, expected: undefined },
    {
      name: "attempts without retryOn keeps the default conditions",
      retries: { attempts: 3 },
      expected: { ...DEFAULT, num_retries: 3 },
    },
    {
      name: "numbers in retryOn become retriable_status_codes",
      retries: { attempts: 3, retryOn: "gateway-error, 503 ,reset,418" },
      expected: {
        ...DEFAULT,
        num_retries: 3,
        retry_on: "gateway-error,reset,retriable-status-codes",
        retriable_status_codes: [503, 418],
      },
    },
    {
      name: "only codes",
      retries: { attempts: 1, retryOn: "503" },
      expected: {
        ...DEFAULT,
        num_retries: 1,
        retry_on: "retriable-status-codes",
        retriable_status_codes: [503],
      },
    },
    {
      name: "a number that is no HTTP status stays a policy name",
      retries: { attempts: 1, retryOn: "5xx,999" },
      expected: { ...DEFAULT, num_retries: 1, retry_on: "5xx,999" },
    },
    {
      name: "perTryTimeout, backoff",
      retries: { attempts: 2, perTryTimeout: "1.5s", backoff: "100ms" },
      expected: { ...DEFAULT, per_try_timeout: "1.5s", retry_back_off: { base_interval: "0.1s" } },
    },
    {
      name: "a backoff of 0 (only an unvalidated mesh default can say it) is left out",
      retries: { attempts: 2, backoff: "0s" },
      expected: { ...DEFAULT, num_retries: 2 },
    },
    {
      name: "retryIgnorePreviousHosts: false drops the host predicate",
      retries: { attempts: 2, retryIgnorePreviousHosts: false },
      expected: {
        retry_on: DEFAULT_RETRY_ON,
        num_retries: 2,
        host_selection_retry_max_attempts: "5",
      },
    },
    {
      name: "retryIgnorePreviousHosts: true adds it even with consistent hashing",
      retries: { attempts: 2, retryIgnorePreviousHosts: true },
      hash: true,
      expected: DEFAULT,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(translateRetryPolicy(c.retries, c.hash ?? false)).toEqual(c.expected);
    });
  }

  it("retryRemoteLocalities → previous_priorities (update_frequency 2)", () => {
    const policy = translateRetryPolicy({ attempts: 2, retryRemoteLocalities: true }, false);
    const priority = policy?.retry_priority as Obj;
    expect(priority.name).toBe("envoy.retry_priorities.previous_priorities");
    if (priority.typed_config) expect(priority.typed_config).toMatchObject({ update_frequency: 2 });
  });

  it("names the previous_hosts predicate (typed config once the codec knows its type)", () => {
    expect(previousHosts.name).toBe("envoy.retry_host_predicates.previous_hosts");
    if (previousHosts.typed_config)
      expect(previousHosts.typed_config).toEqual({
        "@type":
          "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate",
      });
  });
});

describe("parseRetryOn", () => {
  it("splits policies and codes", () => {
    expect(parseRetryOn("5xx,,503,connect-failure")).toEqual({
      retryOn: "5xx,connect-failure",
      codes: [503],
    });
  });
});
