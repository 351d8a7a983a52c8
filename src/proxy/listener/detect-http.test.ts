// HTTP inspection: the HTTP/2 preface, HTTP/1.x request lines, partial input and non-HTTP bytes.
import { describe, expect, it } from "vitest";
import { detectHttp } from "./detect-http.ts";

const b = (s: string) => Buffer.from(s, "latin1");

describe("detectHttp", () => {
  it.each([
    ["PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "h2c"],
    ["PRI * HTTP/2.0\r\n", "need-more"],
    ["GET / HTTP/1.1\r\nHost: a\r\n\r\n", "http/1.1"],
    ["POST http://a/x HTTP/1.1\r\n", "http/1.1"],
    ["CONNECT a:443 HTTP/1.1\r\n", "http/1.1"],
    ["M-SEARCH * HTTP/1.1\r\n", "http/1.1"],
    ["GET / HTTP/1.0\r\n", "http/1.0"],
    ["GET /path", "need-more"],
    ["", "need-more"],
    ["PRO", "need-more"],
    ["FOO / HTTP/1.1\r\n", undefined],
    ["GET / HTTP/2.0\r\n", undefined],
    ["GET /\x01 HTTP/1.1\r\n", undefined],
    ["SSH-2.0-OpenSSH\r\n", undefined],
    ["\x16\x03\x01\x00", undefined],
  ])("%j → %s", (input, expected) => {
    expect(detectHttp(b(input))).toBe(expected);
  });

  it("gives up on an endless request line", () => {
    expect(detectHttp(b(`GET /${"a".repeat(70_000)}`))).toBeUndefined();
  });
});
