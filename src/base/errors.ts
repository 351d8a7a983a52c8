// Errors are values with stable codes. Every code crema can report — thrown errors and
// config diagnostics alike — is listed once in error-catalogue.ts with what it means and how
// to solve it; docs/reference/errors.md is generated from that list and a test keeps both equal.
import { ERROR_CATALOGUE, type ErrorCode } from "./error-catalogue.ts";

export type { ErrorCode };

export class CremaError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CremaError";
    this.code = code;
  }

  /** The catalogue's advice for this error's code. */
  get howToSolve(): string {
    return ERROR_CATALOGUE[this.code].solve;
  }
}

export function isCremaError(value: unknown): value is CremaError {
  return value instanceof CremaError;
}

/** A one-line, user-facing rendering: code, message, and where to read more. */
export function describeError(error: unknown): string {
  if (isCremaError(error)) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return error.message;
  return String(error);
}
