// The byte relay of a TCP proxy session once its upstream is connected: both directions with
// back-pressure, a FIN forwarded as a half-close, and a reset on either side tearing down both.
// A direction may first have its opening bytes taken off by a prefix reader (Istio's metadata
// exchange frame); the other direction flows meanwhile, as it does past Envoy's filter.
import type { Duplex } from "node:stream";

export interface RelayHooks {
  /** A chunk read from the downstream (and written upstream). */
  onDownstreamData(bytes: number): void;
  /** A chunk read from the upstream (and written downstream). */
  onUpstreamData(bytes: number): void;
}

/** Takes the first bytes of one direction for itself; only what it hands back is relayed. */
export interface PrefixReader {
  /** The prefix is over: every later byte passes untouched. */
  readonly done: boolean;
  /** The prefix cannot be taken (too long to hold): the connection is reset. */
  readonly oversized: boolean;
  /** A chunk read; returns the bytes to pass on (none while the prefix is incomplete). */
  read(chunk: Buffer): Buffer;
  /** The direction ended with the prefix incomplete; returns the bytes to pass on. */
  end(): Buffer;
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
 * end of `from` as `to.end()` (the peer sees a half-close and may still answer). `prefix`, until
 * it is done, decides what of `from` goes on; `onData` counts only that.
 */
function pump(
  from: Duplex,
  to: Duplex,
  onData: (bytes: number) => void,
  prefix: PrefixReader | undefined,
): void {
  let reader = prefix?.done ? undefined : prefix;
  from.on("data", (chunk: Buffer) => {
    let bytes = chunk;
    if (reader !== undefined) {
      bytes = reader.read(chunk);
      if (reader.oversized) {
        from.destroy();
        return;
      }
      if (reader.done) reader = undefined;
      if (bytes.length === 0) return;
    }
    onData(bytes.length);
    if (!to.write(bytes)) from.pause();
  });
  to.on("drain", () => from.resume());
  const end = (): void => {
    if (reader !== undefined) {
      const rest = reader.end();
      reader = undefined;
      if (rest.length > 0) {
        onData(rest.length);
        to.write(rest);
      }
    }
    to.end();
  };
  if (from.readableEnded) end();
  else from.once("end", end);
}

/**
 * Relays between two connected streams. `backlog` holds downstream bytes read before the upstream
 * was connected (past any downstream prefix already); they are written first. `prefixes` take
 * the opening bytes of a direction, named by the side they are read from. Both streams must
 * already have an 'error' listener.
 */
export function relay(
  downstream: Duplex,
  upstream: Duplex,
  hooks: RelayHooks,
  backlog: readonly Buffer[] = [],
  prefixes: { downstream?: PrefixReader | undefined; upstream?: PrefixReader | undefined } = {},
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
  pump(downstream, upstream, hooks.onDownstreamData, prefixes.downstream);
  pump(upstream, downstream, hooks.onUpstreamData, prefixes.upstream);
  if (writable) downstream.resume();
  else downstream.pause();
  upstream.resume();
  if (downstream.destroyed || upstream.destroyed) finish("reset");
  return { done, destroy: () => finish("reset") };
}
