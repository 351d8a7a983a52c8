// Envoy's response flags (%RESPONSE_FLAGS%): short and long names, in Envoy's output order, and
// how a request's set of flags is rendered for access logs and metrics ("UH,URX"; none → "-").

/** Short name → long name, in the order Envoy's ResponseFlagUtils prints them. */
const FLAGS = [
  ["LH", "FailedLocalHealthCheck"],
  ["UH", "NoHealthyUpstream"],
  ["UT", "UpstreamRequestTimeout"],
  ["LR", "LocalReset"],
  ["UR", "UpstreamRemoteReset"],
  ["UF", "UpstreamConnectionFailure"],
  ["UC", "UpstreamConnectionTermination"],
  ["UO", "UpstreamOverflow"],
  ["NR", "NoRouteFound"],
  ["DI", "DelayInjected"],
  ["FI", "FaultInjected"],
  ["RL", "RateLimited"],
  ["UAEX", "UnauthorizedExternalService"],
  ["RLSE", "RateLimitServiceError"],
  ["DC", "DownstreamConnectionTermination"],
  ["URX", "UpstreamRetryLimitExceeded"],
  ["SI", "StreamIdleTimeout"],
  ["IH", "InvalidEnvoyRequestHeaders"],
  ["DPE", "DownstreamProtocolError"],
  ["UMSDR", "UpstreamMaxStreamDurationReached"],
  ["RFCF", "ResponseFromCacheFilter"],
  ["NFCF", "NoFilterConfigFound"],
  ["DT", "DurationTimeout"],
  ["UPE", "UpstreamProtocolError"],
  ["NC", "NoClusterFound"],
  ["OM", "OverloadManagerTerminated"],
  ["DF", "DnsResolutionFailed"],
  ["DO", "DropOverload"],
  ["DR", "DownstreamRemoteReset"],
  ["UDO", "UnconditionalDropOverload"],
] as const;

export type ResponseFlag = (typeof FLAGS)[number][0];

const ORDER: ReadonlyMap<string, number> = new Map(FLAGS.map(([short], i) => [short, i]));
const LONG: ReadonlyMap<string, string> = new Map(FLAGS);

/** Every flag, in Envoy's output order. */
export const RESPONSE_FLAGS: readonly ResponseFlag[] = FLAGS.map(([short]) => short);

export function isResponseFlag(value: string): value is ResponseFlag {
  return ORDER.has(value);
}

/** The PascalCase name %RESPONSE_FLAGS_LONG% prints (e.g. "NoHealthyUpstream"). */
export function longFlagName(flag: ResponseFlag): string {
  return LONG.get(flag)!;
}

/** Envoy's %RESPONSE_FLAGS%: distinct flags in Envoy's order joined by ","; none → "-". */
export function formatResponseFlags(flags: Iterable<ResponseFlag>, long = false): string {
  const sorted = [...new Set(flags)].sort((a, b) => ORDER.get(a)! - ORDER.get(b)!);
  if (sorted.length === 0) return "-";
  return (long ? sorted.map(longFlagName) : sorted).join(",");
}
