// Checks meshConfig's access log fields (accessLogFile, accessLogEncoding, accessLogFormat) the
// way istiod reads them, so a bad setting is an error at start rather than a silent default.
import type { MeshConfig } from "./mesh-config.ts";

const ENCODINGS = ["TEXT", "JSON"];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The JSON object a JSON-encoded accessLogFormat holds (Istio parses it into a Struct), or why it
 * is not one.
 */
export function parseJsonAccessLogFormat(
  format: string,
): { ok: true; value: Record<string, unknown> } | { ok: false; reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(format);
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
  if (!isPlainObject(value))
    return { ok: false, reason: "it is not a JSON object of format strings" };
  return { ok: true, value };
}

/** Problems with the access log fields, each prefixed with its meshConfig field path. */
export function validateMeshAccessLog(
  mesh: Pick<Partial<MeshConfig>, "accessLogFile" | "accessLogEncoding" | "accessLogFormat">,
): string[] {
  const errors: string[] = [];
  const encoding = mesh.accessLogEncoding ?? "TEXT";
  if (!ENCODINGS.includes(encoding))
    errors.push(`meshConfig.accessLogEncoding: ${JSON.stringify(encoding)} is not TEXT or JSON`);
  const file = mesh.accessLogFile ?? "";
  if (/[\0\n]/.test(file))
    errors.push("meshConfig.accessLogFile: a path cannot contain NUL or newline characters");
  const format = mesh.accessLogFormat ?? "";
  if (encoding === "JSON" && format !== "") {
    const parsed = parseJsonAccessLogFormat(format);
    if (!parsed.ok)
      errors.push(
        `meshConfig.accessLogFormat: with accessLogEncoding JSON the format must be a JSON object such as {"code":"%RESPONSE_CODE%"} (${parsed.reason})`,
      );
  }
  return errors;
}
