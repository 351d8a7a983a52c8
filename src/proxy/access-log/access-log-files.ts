// The files a proxy's access loggers write to (Envoy's AccessLogManager): one append-mode stream
// per path shared by every logger, /dev/stdout and /dev/stderr as the process's own streams.
// Writes are queued, never awaited and never throw; a file that fails to open or write is
// reported once and its lines are dropped from then on.
import { createWriteStream } from "node:fs";
import type { Writable } from "node:stream";
import type { Logger } from "../../base/logger.ts";

/** Where one logger's lines go. */
export interface AccessLogSink {
  write(line: string): void;
}

export interface AccessLogFilesOptions {
  logger: Logger;
  /** Stand-ins for process.stdout / process.stderr (tests). */
  stdout?: Writable;
  stderr?: Writable;
  /** Bytes a file may have queued before new lines are dropped (a stuck disk must not grow memory). */
  maxQueuedBytes?: number;
}

const DEFAULT_MAX_QUEUED_BYTES = 16 * 1024 * 1024;

class FileSink implements AccessLogSink {
  failed = false;
  dropped = 0;
  readonly stream: Writable;
  private readonly owned: boolean;
  private readonly maxQueued: number;

  constructor(stream: Writable, owned: boolean, maxQueued: number) {
    this.stream = stream;
    this.owned = owned;
    this.maxQueued = maxQueued;
  }

  write(line: string): void {
    if (this.failed || this.stream.writableLength > this.maxQueued || this.stream.destroyed) {
      this.dropped++;
      return;
    }
    try {
      this.stream.write(line);
    } catch {
      this.dropped++;
    }
  }

  close(): Promise<void> {
    if (!this.owned || this.stream.destroyed) return Promise.resolve();
    return new Promise((done) => {
      this.stream.once("close", () => done());
      this.stream.end();
    });
  }
}

export class AccessLogFiles {
  private readonly sinks = new Map<string, FileSink>();
  private readonly options: AccessLogFilesOptions;

  constructor(options: AccessLogFilesOptions) {
    this.options = options;
  }

  /** The shared sink for `path`, opened on first use. */
  sink(path: string): AccessLogSink {
    let sink = this.sinks.get(path);
    if (sink) return sink;
    const max = this.options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    if (path === "/dev/stdout" || path === "/dev/stderr") {
      const stream =
        path === "/dev/stdout"
          ? (this.options.stdout ?? process.stdout)
          : (this.options.stderr ?? process.stderr);
      sink = new FileSink(stream, false, max);
    } else {
      sink = new FileSink(createWriteStream(path, { flags: "a" }), true, max);
    }
    const opened = sink;
    opened.stream.on("error", (error: Error) => {
      if (opened.failed) return;
      opened.failed = true;
      this.options.logger.error(
        { path, error: error.message },
        "access log file failed; its lines are dropped until the proxy restarts",
      );
    });
    this.sinks.set(path, opened);
    return opened;
  }

  /** Lines dropped for `path` (failed file, or too much queued). */
  dropped(path: string): number {
    return this.sinks.get(path)?.dropped ?? 0;
  }

  /** Flushes and closes the files (stdout and stderr stay open). */
  async close(): Promise<void> {
    const sinks = [...this.sinks.values()];
    this.sinks.clear();
    await Promise.all(sinks.map((s) => s.close()));
  }
}
