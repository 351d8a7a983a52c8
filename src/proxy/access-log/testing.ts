// Test fixtures for access logs: a finished HTTP stream's StreamInfo with every field set.
import type { StreamInfo } from "../http/stream-info.ts";
import { newStreamInfo } from "../http/stream-info.ts";

/** 2026-12-07T09:10:11.123Z */
export const START = Date.UTC(2026, 11, 7, 9, 10, 11, 123);

export function httpStreamInfo(overrides: Partial<StreamInfo> = {}): StreamInfo {
  const info = newStreamInfo(
    {
      protocol: "HTTP/1.1",
      downstreamLocalAddress: "10.0.0.2:8080",
      downstreamRemoteAddress: "10.0.0.1:51234",
      downstreamDirectRemoteAddress: "10.0.0.9:51234",
      requestedServerName: undefined,
      downstreamPeerUriSan: undefined,
      downstreamLocalUriSan: undefined,
    },
    START,
  );
  Object.assign(info, {
    durationMs: 12.7,
    requestHeaders: {
      ":method": "GET",
      ":path": "/api/v1/items?page=2",
      ":authority": "shop.example.com",
      ":scheme": "http",
      "user-agent": "curl/8.0",
      "x-request-id": "4f1c",
      "x-forwarded-for": "192.0.2.1",
    },
    responseHeaders: { ":status": "200", "x-envoy-upstream-service-time": "9" },
    responseCode: 200,
    responseCodeDetails: "via_upstream",
    bytesReceived: 0,
    bytesSent: 512,
    upstreamCluster: "outbound|80||items.shop.svc.cluster.local",
    upstreamHost: "10.0.1.5:80",
    upstreamLocalAddress: "10.0.0.2:40000",
    routeName: "default",
    ...overrides,
  });
  return info;
}

/** A TCP connection's StreamInfo: no protocol, headers or response. */
export function tcpStreamInfo(overrides: Partial<StreamInfo> = {}): StreamInfo {
  const info = newStreamInfo(
    {
      protocol: undefined,
      downstreamLocalAddress: "10.0.0.2:5432",
      downstreamRemoteAddress: "10.0.0.1:40001",
      downstreamDirectRemoteAddress: "10.0.0.1:40001",
      requestedServerName: undefined,
      downstreamPeerUriSan: undefined,
      downstreamLocalUriSan: undefined,
    },
    START,
  );
  Object.assign(info, {
    durationMs: 1500,
    bytesReceived: 100,
    bytesSent: 2000,
    upstreamCluster: "outbound|5432||db.shop.svc.cluster.local",
    upstreamHost: "10.0.1.7:5432",
    ...overrides,
  });
  return info;
}
