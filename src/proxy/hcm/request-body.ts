// The downstream request body as the router uses it: streamed to the current upstream attempt
// (and to mirrors) with back-pressure, and kept in memory up to the buffer limit so a retry can
// replay it — past the limit, retries are off (as in Envoy).
import type { Readable } from "node:stream";

export interface BodySink {
  write(chunk: Uint8Array): boolean;
  end(): void;
  onDrain(listener: () => void): void;
  /** Resets the sink's stream (a mirror dropped for buffering too much). */
  abort?(): void;
}

/** Something that reads the request body as it arrives, once per byte (replays are not shown). */
export interface RequestBodyObserver {
  requestData(chunk: Uint8Array): void;
}

export class RequestBody {
  private readonly source: Readable | undefined;
  private readonly limitBytes: number;
  private readonly chunks: Uint8Array[] = [];
  private bufferedBytes = 0;
  private overflowed = false;
  private ended: boolean;
  private readonly sinks = new Set<BodySink>();
  /** Mirrors get the same bytes but never slow the request down (no back-pressure). */
  private readonly mirrors = new Set<BodySink>();
  /**
   * Mirrors that pushed back, with the bytes written to them since: past the buffer limit the
   * mirror is dropped, as Envoy abandons a shadow rather than buffer without bound.
   */
  private readonly mirrorBacklog = new Map<BodySink, number>();
  private paused = false;
  private discarding = false;
  private readonly completeListeners: Array<() => void> = [];

  /** Body bytes received so far (the access log's %BYTES_RECEIVED%), when someone counts. */
  private readonly received: { bytesReceived: number } | undefined;
  /** Sees each chunk as it arrives from the downstream (the grpc_stats filter's counting). */
  private readonly observer: RequestBodyObserver | undefined;

  /** `source` undefined: the request has no body. */
  constructor(
    source: Readable | undefined,
    limitBytes: number,
    received?: { bytesReceived: number },
    observer?: RequestBodyObserver,
  ) {
    this.source = source;
    this.received = received;
    this.observer = observer;
    this.limitBytes = limitBytes;
    this.ended = source === undefined;
    if (!source) return;
    source.on("data", (chunk: Uint8Array) => this.onData(chunk));
    source.on("end", () => {
      this.ended = true;
      for (const sink of this.sinks) sink.end();
      for (const mirror of this.mirrors) mirror.end();
      this.mirrors.clear();
      for (const listener of this.completeListeners.splice(0)) listener();
    });
    // A downstream reset surfaces through the response side; swallow it here.
    source.on("error", () => {});
    // Nothing flows until an attempt is attached (a fault delay or a pick may come first).
    source.pause();
  }

  /** Whether every byte so far is still held (a retry can replay it). */
  get replayable(): boolean {
    return !this.overflowed;
  }

  get complete(): boolean {
    return this.ended;
  }

  /**
   * Calls `listener` once the whole request has arrived (at once when it already has): the
   * router arms its timeouts there, as Envoy's onRequestComplete does.
   */
  onComplete(listener: () => void): void {
    if (this.ended) listener();
    else this.completeListeners.push(listener);
  }

  /** Replays what is buffered into `sink`, then streams the rest to it. */
  attach(sink: BodySink): void {
    for (const chunk of this.chunks) sink.write(chunk);
    if (this.ended) {
      sink.end();
      return;
    }
    this.sinks.add(sink);
    if (!this.paused) this.source?.resume();
  }

  /** Stops streaming to `sink`; with no sink left the body waits (between retries). */
  detach(sink: BodySink): void {
    this.sinks.delete(sink);
    if (this.sinks.size === 0) {
      this.paused = false;
      this.source?.pause();
    }
  }

  attachMirror(sink: BodySink): void {
    this.mirrors.add(sink);
    for (const chunk of this.chunks) this.writeMirror(sink, chunk);
    if (!this.mirrors.has(sink)) return;
    if (this.ended) {
      this.mirrors.delete(sink);
      sink.end();
    }
  }

  detachMirror(sink: BodySink): void {
    this.mirrors.delete(sink);
    this.mirrorBacklog.delete(sink);
  }

  /** Writes to a mirror without ever pausing the request; a mirror that lags too far is dropped. */
  private writeMirror(mirror: BodySink, chunk: Uint8Array): void {
    const backlog = this.mirrorBacklog.get(mirror);
    if (backlog !== undefined) {
      const next = backlog + chunk.byteLength;
      if (next > this.limitBytes) {
        this.detachMirror(mirror);
        mirror.abort?.();
        return;
      }
      this.mirrorBacklog.set(mirror, next);
      mirror.write(chunk);
      return;
    }
    if (!mirror.write(chunk)) {
      this.mirrorBacklog.set(mirror, 0);
      mirror.onDrain(() => this.mirrorBacklog.delete(mirror));
    }
  }

  /**
   * The exchange ended before the request body did (the upstream answered early, or a local
   * reply): read and drop the rest, as node does with an unread body, so a keep-alive HTTP/1.1
   * connection reaches its next request instead of stalling on a paused body. Mirrors still get it.
   */
  discard(): void {
    if (this.ended || this.discarding || !this.source) return;
    this.discarding = true;
    this.sinks.clear();
    this.chunks.length = 0;
    this.overflowed = true;
    this.paused = false;
    this.source.resume();
  }

  private onData(chunk: Uint8Array): void {
    if (this.received) this.received.bytesReceived += chunk.byteLength;
    this.observer?.requestData(chunk);
    for (const mirror of this.mirrors) this.writeMirror(mirror, chunk);
    if (this.discarding) return;
    if (!this.overflowed) {
      this.bufferedBytes += chunk.byteLength;
      if (this.bufferedBytes > this.limitBytes) {
        this.overflowed = true;
        this.chunks.length = 0;
      } else this.chunks.push(chunk);
    }
    for (const sink of this.sinks) {
      if (!sink.write(chunk) && !this.paused) {
        this.paused = true;
        this.source?.pause();
        sink.onDrain(() => this.resume());
      }
    }
  }

  private resume(): void {
    this.paused = false;
    if (this.sinks.size > 0) this.source?.resume();
  }
}
