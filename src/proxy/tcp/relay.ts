// The byte relay of a TCP proxy session once its upstream is connected: both directions with
// back-pressure, a FIN forwarded as a half-close, and a reset on either side tearing down both.
import type { Duplex } from "node:stream";

export interface RelayHooks {
  /** A chunk read from the downstream (and written upstream). */
  onDownstreamData(bytes: number): void;
  /** A chunk read from the upstream (and written downstream). */
  onUpstreamData(bytes: number): void;
}

/** "closed": both directions ended with a FIN; "reset": a side errored or closed abruptly. */
export type RelayEnd = "closed" | "reset";

export interface Relay {
  readonly done: Promise<RelayEnd>;
  /** Destroys both sides now (no flush), as Envoy's NoFlush close. */
  destroy(): void;
}

/**
 * Pumps `from` into `to`: pauses `from` while `to` is above its high-water mark and forwards the
 * end of `from` as `to.end()` (the peer sees a half-close and may still answer).
 */
function pump(from: Duplex, to: Duplex, onData: (bytes: number) => void): void {
  from.on("data", (chunk: Buffer) => {
    onData(chunk.length);
    if (!to.write(chunk)) from.pause();
  });
  to.on("drain", () => from.resume());
  if (from.readableEnded) to.end();
  else from.once("end", () => to.end());
}

/**
 * Relays between two connected streams. `backlog` holds downstream bytes read before the upstream
 * was connected; they are written first. Both streams must already have an 'error' listener.
 */
export function relay(
  downstream: Duplex,
  upstream: Duplex,
  hooks: RelayHooks,
  backlog: readonly Buffer[] = [],
): Relay {
  // Half-close is the relay's job: without this Node would end a side's write as soon as its
  // read ends, cutting off the other direction.
  downstream.allowHalfOpen = true;
  upstream.allowHalfOpen = true;
  let settle: (end: RelayEnd) => void = () => {};
  const done = new Promise<RelayEnd>((resolve) => {
    settle = resolve;
  });
  let settled = false;
  const finish = (end: RelayEnd): void => {
    if (settled) return;
    settled = true;
    downstream.destroy();
    upstream.destroy();
    settle(end);
  };
  let finished = 0;
  const onFinish = (): void => {
    if (++finished === 2) finish("closed");
  };
  // A side that closes before both of its directions ended cleanly was reset (or destroyed).
  const onClose = (side: Duplex) => () => {
    if (!(side.readableEnded && side.writableFinished)) finish("reset");
  };
  for (const side of [downstream, upstream]) {
    side.once("error", () => finish("reset"));
    side.once("finish", onFinish);
    side.once("close", onClose(side));
  }
  let writable = true;
  for (const chunk of backlog) writable = upstream.write(chunk);
  pump(downstream, upstream, hooks.onDownstreamData);
  pump(upstream, downstream, hooks.onUpstreamData);
  if (writable) downstream.resume();
  else downstream.pause();
  upstream.resume();
  if (downstream.destroyed || upstream.destroyed) finish("reset");
  return { done, destroy: () => finish("reset") };
}
