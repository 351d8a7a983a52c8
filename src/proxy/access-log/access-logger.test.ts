import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../base/logger.ts";
import { AccessLogFiles } from "./access-log-files.ts";
import { openAccessLoggers } from "./access-logger.ts";
import { parseFormatString } from "./format-string.ts";
import { httpStreamInfo, tcpStreamInfo } from "./testing.ts";
import type { AccessLogConfig, AccessLogFilter } from "./types.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function config(path: string, format: string, filter?: AccessLogFilter): AccessLogConfig {
  const parsed = parseFormatString(format);
  if (!parsed.ok) throw new Error(parsed.error);
  return {
    name: "envoy.access_loggers.file",
    path,
    format: { kind: "text", parts: parsed.parts, omitEmptyValues: false },
    filter,
  };
}

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on("data", (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString("utf8") };
}

function recordingLogger() {
  const errors: string[] = [];
  const logger = silentLogger();
  let reported: () => void = () => {};
  const firstError = new Promise<void>((done) => {
    reported = done;
  });
  logger.error = ((_obj: unknown, msg: string) => {
    errors.push(msg);
    reported();
  }) as typeof logger.error;
  return { logger, errors, firstError };
}

describe("access loggers", () => {
  it("write one line per stream that passes the filter, sharing a file per path", async () => {
    const dir = mkdtempSync(join(tmpdir(), "crema-access-log-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, "access.log");
    const files = new AccessLogFiles({ logger: silentLogger() });
    const [http, errorsOnly] = openAccessLoggers(
      [
        config(path, "%PROTOCOL% %RESPONSE_CODE%\n"),
        config(path, "error %RESPONSE_CODE%\n", { kind: "status_code", op: "GE", value: 500 }),
      ],
      files,
      silentLogger(),
    );
    http!.log(httpStreamInfo(), { kind: "http" });
    errorsOnly!.log(httpStreamInfo(), { kind: "http" });
    errorsOnly!.log(httpStreamInfo({ responseCode: 503 }), { kind: "http" });
    http!.log(tcpStreamInfo(), { kind: "tcp" });
    await files.close();
    expect(readFileSync(path, "utf8")).toBe("HTTP/1.1 200\nerror 503\n- 0\n");
  });

  it("map /dev/stdout and /dev/stderr to the process streams", async () => {
    const out = capture();
    const err = capture();
    const files = new AccessLogFiles({
      logger: silentLogger(),
      stdout: out.stream,
      stderr: err.stream,
    });
    const loggers = openAccessLoggers(
      [config("/dev/stdout", "out %RESPONSE_CODE%\n"), config("/dev/stderr", "err\n")],
      files,
      silentLogger(),
    );
    for (const l of loggers) l.log(httpStreamInfo(), { kind: "http" });
    await files.close();
    expect(out.text()).toBe("out 200\n");
    expect(err.text()).toBe("err\n");
    expect(out.stream.writable).toBe(true);
  });

  it("report a file that cannot be opened once, and drop its lines without throwing", async () => {
    const { logger, errors, firstError } = recordingLogger();
    const files = new AccessLogFiles({ logger });
    const path = join(tmpdir(), "crema-no-such-dir", "sub", "access.log");
    const [log] = openAccessLoggers([config(path, "x\n")], files, logger);
    log!.log(httpStreamInfo(), { kind: "http" });
    await firstError;
    log!.log(httpStreamInfo(), { kind: "http" });
    log!.log(httpStreamInfo(), { kind: "http" });
    expect(errors).toHaveLength(1);
    expect(files.dropped(path)).toBe(2);
    await files.close();
  });

  it("drop lines while too much is queued instead of growing memory", async () => {
    const slow = new PassThrough({ highWaterMark: 1 });
    const files = new AccessLogFiles({ logger: silentLogger(), stdout: slow, maxQueuedBytes: 10 });
    const [log] = openAccessLoggers([config("/dev/stdout", "0123456789\n")], files, silentLogger());
    for (let i = 0; i < 5; i++) log!.log(httpStreamInfo(), { kind: "http" });
    expect(files.dropped("/dev/stdout")).toBe(4);
    await files.close();
  });
});
