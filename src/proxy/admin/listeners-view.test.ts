import { describe, expect, it } from "vitest";
import { addressJson, renderListenersJson, renderListenersText } from "./listeners-view.ts";

const LISTENERS = [
  { name: "virtualOutbound", address: "0.0.0.0:15001" },
  { name: "virtualInbound", address: "[::]:15006" },
  { name: "0.0.0.0_9080" },
];

describe("listeners view", () => {
  it("writes name::address lines", () => {
    expect(renderListenersText(LISTENERS)).toBe(
      "virtualOutbound::0.0.0.0:15001\nvirtualInbound::[::]:15006\n0.0.0.0_9080::\n",
    );
  });

  it("writes Envoy's listener_statuses", () => {
    expect(renderListenersJson(LISTENERS)).toEqual({
      listener_statuses: [
        {
          name: "virtualOutbound",
          local_address: { socket_address: { address: "0.0.0.0", port_value: 15001 } },
        },
        {
          name: "virtualInbound",
          local_address: { socket_address: { address: "::", port_value: 15006 } },
        },
        { name: "0.0.0.0_9080" },
      ],
    });
  });

  it("reads an address without a port as a pipe", () => {
    expect(addressJson("/tmp/admin.sock")).toEqual({ pipe: { path: "/tmp/admin.sock" } });
  });
});
