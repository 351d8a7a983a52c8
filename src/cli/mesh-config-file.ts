// `--mesh-config FILE` (crema control-plane, crema up): one Istio MeshConfig document, decoded
// with every problem printed at its position in the file.
import { readFile } from "node:fs/promises";
import { decodeSource } from "../config/source-file.ts";
import { parseDocuments } from "../config/yaml-documents.ts";
import { decodeMeshConfig, type MeshConfig } from "../control-plane/model/mesh-config.ts";
import type { CliIo } from "./io.ts";

/** The MeshConfig fields of `path`, or undefined after printing each problem with its position. */
export async function readMeshConfigFile(
  path: string,
  io: CliIo,
): Promise<Partial<MeshConfig> | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    io.stderr(`crema: --mesh-config ${path}: ${(error as Error).message}\n`);
    return undefined;
  }
  const source = decodeSource(path, bytes);
  if ("code" in source) {
    io.stderr(`crema: ${source.message}\n`);
    return undefined;
  }
  const parsed = parseDocuments(source);
  for (const d of parsed.diagnostics) {
    const at = d.position ? `${d.position.file}:${d.position.line}:${d.position.column}: ` : "";
    io.stderr(`crema: ${at}${d.message}\n`);
  }
  if (parsed.diagnostics.length > 0) return undefined;
  if (parsed.documents.length > 1) {
    io.stderr(
      `crema: ${path}: one MeshConfig document expected, found ${parsed.documents.length}\n`,
    );
    return undefined;
  }
  const document = parsed.documents[0];
  if (!document) return {};
  const decoded = decodeMeshConfig(document);
  const print = (
    kind: string,
    p: { path: string; message: string; position: { file: string; line: number; column: number } },
  ) =>
    io.stderr(
      `crema: ${p.position.file}:${p.position.line}:${p.position.column}: ${kind}meshConfig${p.path ? `.${p.path}` : ""}: ${p.message}\n`,
    );
  for (const warning of decoded.warnings) print("warning: ", warning);
  for (const error of decoded.errors) print("", error);
  return decoded.errors.length > 0 ? undefined : decoded.meshConfig;
}
