// Writes answers the same way over HTTP/1.1 and HTTP/2: JSON, errors, and streamed bodies.
import type { OutgoingHttpHeaders } from "node:http";
import { nodeHttp } from "../base/node-http.ts";
import { statusForbidsBody } from "./routes.ts";

const { STATUS_CODES } = nodeHttp;

/** What the endpoints use of http.ServerResponse and http2.Http2ServerResponse. */
export interface EchoResponse {
  readonly headersSent: boolean;
  setHeader(name: string, value: string | number | readonly string[]): unknown;
  hasHeader(name: string): boolean;
  writeHead(statusCode: number, headers?: OutgoingHttpHeaders): unknown;
  write(chunk: string | Uint8Array): boolean;
  end(chunk?: string | Uint8Array): unknown;
  once(event: "close" | "drain", listener: () => void): unknown;
  off(event: "close" | "drain", listener: () => void): unknown;
  destroy(error?: Error): unknown;
}

/** Answers with `value` as JSON, leaving the body out where the status or method forbid one. */
export function sendJson(res: EchoResponse, status: number, value: unknown, head: boolean): void {
  if (statusForbidsBody(status)) {
    res.writeHead(status);
    res.end();
    return;
  }
  const body = `${JSON.stringify(value)}\n`;
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  });
  if (head) res.end();
  else res.end(body);
}

const ERROR_NAMES: Record<number, string> = {
  400: "bad_request",
  426: "upgrade_required",
  431: "headers_too_large",
  500: "internal",
};

export function errorBody(status: number, message: string): { error: string; message: string } {
  return { error: ERROR_NAMES[status] ?? `status_${status}`, message };
}

/** Answers an error, or cuts the stream when part of another answer has already gone out. */
export function sendError(res: EchoResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, errorBody(status, message), false);
}

/**
 * A complete HTTP/1.1 error response as raw text, for sockets that never reached a request
 * handler (malformed requests, refused upgrades). It closes the connection.
 */
export function rawErrorResponse(status: number, message: string, pod: string): string {
  const body = `${JSON.stringify(errorBody(status, message))}\n`;
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\n` +
    `x-crema-pod: ${pod}\r\n` +
    "content-type: application/json\r\n" +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    "connection: close\r\n\r\n" +
    body
  );
}

/**
 * Writes the chunks `next` produces until it returns undefined, then ends the response. Waits for
 * 'drain' whenever the peer is slower than we are, and stops if the response closes early.
 */
export function pump(res: EchoResponse, next: () => string | Uint8Array | undefined): void {
  let closed = false;
  const write = (): void => {
    while (!closed) {
      const chunk = next();
      if (chunk === undefined) {
        res.off("close", onClose);
        res.end();
        return;
      }
      if (!res.write(chunk)) {
        res.once("drain", write);
        return;
      }
    }
  };
  const onClose = (): void => {
    closed = true;
    res.off("drain", write);
  };
  res.once("close", onClose);
  write();
}

const PATTERN_SIZE = 64 * 1024;

/** The /bytes content: byte i of the body is i mod 256. */
export const BYTE_PATTERN: Buffer = Buffer.from(
  Uint8Array.from({ length: PATTERN_SIZE }, (_, i) => i & 0xff),
);

/** Chunks of the /bytes body for pump(); every chunk starts at a multiple of 256. */
export function byteChunks(count: number): () => Uint8Array | undefined {
  let left = count;
  return () => {
    if (left <= 0) return undefined;
    const size = Math.min(left, PATTERN_SIZE);
    left -= size;
    return size === PATTERN_SIZE ? BYTE_PATTERN : BYTE_PATTERN.subarray(0, size);
  };
}
