// access_log on the HCM and tcp_proxy as decodeListener sees them: compiled, or a NACK with paths.
import { describe, expect, it } from "vitest";
import { decodeListener } from "./decode-listener.ts";

const HCM =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const TCP = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
const FILE = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog";
const ROUTER = {
  name: "envoy.filters.http.router",
  typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" },
};

function listener(filters: unknown[]) {
  return {
    name: "l",
    address: { socket_address: { address: "0.0.0.0", port_value: 80 } },
    filter_chains: [{ filters }],
  };
}

function fileLog(format: string) {
  return {
    name: "envoy.access_loggers.file",
    typed_config: {
      "@type": FILE,
      path: "/dev/stdout",
      log_format: { text_format_source: { inline_string: format } },
    },
  };
}

const hcm = (accessLog: unknown[]) => ({
  name: "envoy.filters.network.http_connection_manager",
  typed_config: {
    "@type": HCM,
    stat_prefix: "s",
    rds: { route_config_name: "r", config_source: { ads: {} } },
    http_filters: [ROUTER],
    access_log: accessLog,
    access_log_flush_interval: "1s",
  },
});

const tcp = (accessLog: unknown[] | undefined) => ({
  name: "envoy.filters.network.tcp_proxy",
  typed_config: {
    "@type": TCP,
    stat_prefix: "t",
    cluster: "c",
    ...(accessLog ? { access_log: accessLog } : {}),
  },
});

describe("decodeListener access_log", () => {
  it("compiles the HCM's and the tcp_proxy's access logs", () => {
    const http = decodeListener(listener([hcm([fileLog("%RESPONSE_CODE%\n")])]));
    if (!http.ok) throw new Error(http.errors.join("\n"));
    const h = http.value.filterChains[0]?.filters[0];
    expect(h?.kind === "http_connection_manager" && h.config.accessLogs.map((l) => l.path)).toEqual(
      ["/dev/stdout"],
    );
    const plain = decodeListener(listener([tcp(undefined)]));
    if (!plain.ok) throw new Error(plain.errors.join("\n"));
    const t0 = plain.value.filterChains[0]?.filters[0];
    expect(t0?.kind === "tcp_proxy" && t0.config.accessLogs).toEqual([]);
    const logged = decodeListener(listener([tcp([fileLog("%BYTES_SENT%\n")])]));
    if (!logged.ok) throw new Error(logged.errors.join("\n"));
    const t1 = logged.value.filterChains[0]?.filters[0];
    expect(t1?.kind === "tcp_proxy" && t1.config.accessLogs?.length).toBe(1);
  });

  it("NACKs an unknown operator or logger with the field path", () => {
    const r = decodeListener(listener([hcm([fileLog("%NOPE%")])]));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.join("\n")).toContain(
      "filter_chains[0].filters[0].typed_config.access_log[0].typed_config.log_format.text_format_source.inline_string: unknown command operator %NOPE%",
    );
    const t = decodeListener(
      listener([
        tcp([
          {
            name: "envoy.access_loggers.wasm",
            typed_config: {
              "@type": "type.googleapis.com/envoy.extensions.access_loggers.wasm.v3.WasmAccessLog",
            },
          },
        ]),
      ]),
    );
    expect(t.ok).toBe(false);
    if (!t.ok)
      expect(t.errors.join("\n")).toContain(
        'filter_chains[0].filters[0].typed_config.access_log[0].typed_config: unsupported access logger "envoy.access_loggers.wasm"',
      );
  });
});
