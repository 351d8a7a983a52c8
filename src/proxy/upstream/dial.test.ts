// dial: a connect timeout too long for Node's timers means no timer, not one that fires at once.
import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { MAX_TIMER_MS } from "../../base/timer.ts";
import { DialError, dial } from "./dial.ts";

let server: Server | undefined;

afterEach(async () => {
  vi.useRealTimers();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function listen(): Promise<number> {
  server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

describe("dial", () => {
  it("connects", async () => {
    const port = await listen();
    const socket = await dial({ address: "127.0.0.1", port, connectTimeoutMs: 1_000 });
    expect(socket.remotePort).toBe(port);
    socket.destroy();
  });

  it("arms no timer for a connect timeout beyond what Node's timers honour", async () => {
    const port = await listen();
    // Fake timers clamp an over-long delay to 1 ms as Node does: advancing 1 ms before the
    // connection can complete would fire such a timer and fail the dial as a connect timeout.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const dialing = dial({ address: "127.0.0.1", port, connectTimeoutMs: MAX_TIMER_MS + 1 });
    vi.advanceTimersByTime(1);
    vi.useRealTimers();
    const socket = await dialing;
    expect(socket.remotePort).toBe(port);
    socket.destroy();
  });

  it("fails with a connect timeout when the timer fires first", async () => {
    const port = await listen();
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const dialing = dial({ address: "127.0.0.1", port, connectTimeoutMs: 5 });
    vi.advanceTimersByTime(5);
    vi.useRealTimers();
    const error = await dialing.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(DialError);
    expect((error as DialError).reason).toBe("connection_timeout");
  });
});
