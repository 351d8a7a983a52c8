// A CEL value as text, the way Envoy's expression printer (Filters::Common::Expr::print) renders
// it for Istio's metric labels: strings and bytes as they are, numbers in decimal, booleans as
// true/false. Values Istio would render in a form crema does not reproduce have no text.
import { celValues } from "./library.ts";

const EXPONENT_DIGITS = 2;
const SIGNIFICANT_DIGITS = 6;

/** C's `%g` with six significant digits, which absl::StrCat uses for doubles (0.1 + 0.2 → 0.3). */
export function formatDouble(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  if (value === 0) return Object.is(value, -0) ? "-0" : "0";
  const [mantissa, exponentText] = value.toExponential(SIGNIFICANT_DIGITS - 1).split("e");
  const exponent = Number(exponentText);
  const trimZeros = (digits: string): string =>
    digits.includes(".") ? digits.replace(/\.?0+$/, "") : digits;
  if (exponent < -4 || exponent >= SIGNIFICANT_DIGITS) {
    const sign = exponent < 0 ? "-" : "+";
    const digits = String(Math.abs(exponent)).padStart(EXPONENT_DIGITS, "0");
    return `${trimZeros(mantissa!)}e${sign}${digits}`;
  }
  return trimZeros(value.toFixed(SIGNIFICANT_DIGITS - 1 - exponent));
}

/** The value's text; undefined for null, lists, maps, timestamps, durations and types. */
export function celValueText(value: unknown): string | undefined {
  switch (typeof value) {
    case "string":
      return value;
    case "bigint":
      return value.toString();
    case "number":
      return formatDouble(value);
    case "boolean":
      return value ? "true" : "false";
  }
  if (value instanceof celValues().UnsignedInt) return value.toString();
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  return undefined;
}
