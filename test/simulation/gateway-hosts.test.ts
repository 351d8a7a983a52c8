// Gateway hosts: two Gateways sharing port 80, wildcard server and VirtualService hosts, server
// hosts limited to a namespace, and httpsRedirect answering plaintext with a 301.
import { describe, expect, it } from "vitest";
import { expectCall } from "../support/simulate.ts";
import { gateway, istio, namespaces, outbound, resourcesFor, workload } from "./mesh.ts";

const SERVICES =
  namespaces("default", "team-b", "istio-system") +
  workload("frontend", { vip: "10.96.0.20", ports: ["http:8080"], pods: [{ ip: "10.0.0.20" }] }) +
  workload("cart", { vip: "10.96.0.21", ports: ["http:8080"], pods: [{ ip: "10.0.0.21" }] });
const to = (host: string) => ({ route: [{ destination: { host, port: { number: 8080 } } }] });
const ingress = gateway("istio-ingressgateway-1", { ip: "10.0.1.1" });

describe("several Gateways, server host scoping and httpsRedirect", () => {
  const yaml =
    SERVICES +
    workload("blog", {
      namespace: "team-b",
      vip: "10.96.2.10",
      ports: ["http:8080"],
      pods: [{ ip: "10.0.2.10" }],
    }) +
    istio("Gateway", "shop", {
      selector: { istio: "ingressgateway" },
      servers: [
        {
          port: { number: 80, name: "http", protocol: "HTTP" },
          hosts: ["default/*"],
          tls: { httpsRedirect: true },
        },
      ],
    }) +
    istio(
      "Gateway",
      "blog",
      {
        selector: { istio: "ingressgateway" },
        servers: [
          {
            port: { number: 80, name: "http", protocol: "HTTP" },
            hosts: ["team-b/blog.example.com"],
          },
        ],
      },
      "team-b",
    ) +
    istio("VirtualService", "shop", {
      hosts: ["*.shop.example.com"],
      gateways: ["shop"],
      http: [{ name: "shop", ...to("frontend") }],
    }) +
    istio(
      "VirtualService",
      "blog",
      {
        hosts: ["blog.example.com"],
        gateways: ["team-b/blog"],
        http: [{ name: "blog", ...to("blog") }],
      },
      "team-b",
    ) +
    istio("VirtualService", "sneaky", {
      hosts: ["blog.example.com"],
      gateways: ["team-b/blog"],
      http: [{ name: "sneaky", match: [{ uri: { prefix: "/sneaky" } }], ...to("cart") }],
    });
  const mesh = resourcesFor(yaml, ingress);

  it("both Gateways' port-80 servers share http.80; each host routes to its own VirtualService", () => {
    expectCall(
      mesh,
      { port: 80, host: "blog.example.com" },
      { routeConfig: "http.80", route: "blog", cluster: outbound("blog", 8080, "", "team-b") },
    );
  });

  it("a wildcard VirtualService host under a wildcard server host keeps the wildcard", () => {
    const https = { "x-forwarded-proto": "https" };
    expectCall(
      mesh,
      { port: 80, host: "eu.shop.example.com", headers: https },
      { virtualHost: "*.shop.example.com:80", route: "shop" },
    );
    // The redirect server's own host "*" gets a virtual host too: redirect, but no routes.
    expectCall(
      mesh,
      { port: 80, host: "shop.example.com", headers: https },
      { virtualHost: "*:80", noRoute: true },
    );
  });

  it("a VirtualService cannot bind to a Gateway server whose hosts are for another namespace", () => {
    // default/sneaky names team-b/blog, whose server accepts only team-b's VirtualServices.
    expectCall(mesh, { port: 80, host: "blog.example.com", path: "/sneaky" }, { route: "blog" });
  });

  it("httpsRedirect answers plaintext with a 301 to https", () => {
    const result = expectCall(
      mesh,
      { port: 80, host: "eu.shop.example.com", path: "/cart?x=1" },
      { redirect: "https://eu.shop.example.com/cart?x=1" },
    );
    expect(result.action).toMatchObject({ kind: "redirect", responseCode: 301 });
  });
});
