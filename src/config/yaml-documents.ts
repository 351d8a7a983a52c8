// Splits a source file into YAML (or JSON) documents, converting each to plain data while
// keeping a locator that maps a field path back to its line and column. Hostile input —
// duplicate keys, alias bombs, self-referencing anchors, absurd nesting — yields a diagnostic
// in bounded time and memory.
import { isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseAllDocuments } from "yaml";
import type { Diagnostic, FieldPath, SourcePosition } from "./diagnostic.ts";
import type { SourceFile } from "./source-file.ts";

export type LocateTarget = "key" | "value";

/** Maps a field path to the closest position that exists in the source. */
export type Locator = (path: FieldPath, target?: LocateTarget) => SourcePosition;

export interface ParsedDocument {
  file: string;
  /** 0-based index of the document within its file. */
  index: number;
  value: unknown;
  locate: Locator;
}

export interface ParseResult {
  documents: ParsedDocument[];
  diagnostics: Diagnostic[];
}

const MAX_ALIAS_COUNT = 100;
export const MAX_NESTING_DEPTH = 64;

export function parseDocuments(source: SourceFile): ParseResult {
  const lineCounter = new LineCounter();
  const result: ParseResult = { documents: [], diagnostics: [] };
  const position = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { file: source.path, line, column: col };
  };
  let docs: ReturnType<typeof parseAllDocuments>;
  try {
    docs = parseAllDocuments(source.text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  } catch (error) {
    result.diagnostics.push(syntaxError(source.path, (error as Error).message, position(0)));
    return result;
  }
  if (!Array.isArray(docs)) return result;
  docs.forEach((doc, index) => {
    const firstError = doc.errors[0];
    if (firstError) {
      const duplicate = firstError.code === "DUPLICATE_KEY";
      const more =
        doc.errors.length > 1
          ? ` (and ${doc.errors.length - 1} more problems in this document)`
          : "";
      result.diagnostics.push({
        code: duplicate ? "CREMA_CONFIG_YAML_DUPLICATE_KEY" : "CREMA_CONFIG_YAML_SYNTAX",
        severity: "error",
        message: duplicate
          ? `key ${JSON.stringify(keyAt(source.text, firstError.pos[0]))} appears twice in the same mapping; Kubernetes would keep only one of them, so remove or merge the repeated key${more}`
          : `${firstLine(firstError.message)}${more}; check the indentation and the closing brackets and quotes near here`,
        position: position(firstError.pos[0]),
      });
      return;
    }
    // an empty document between separators
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return;
    const docStart = doc.range?.[0] ?? 0;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      result.diagnostics.push(
        aliasLimit(source.path, (error as Error).message, position(docStart)),
      );
      return;
    }
    const shapeProblem = checkShape(value);
    if (shapeProblem) {
      result.diagnostics.push(
        shapeProblem === "cycle"
          ? aliasLimit(source.path, "an anchor refers to itself", position(docStart))
          : syntaxError(
              source.path,
              `the document is nested more than ${MAX_NESTING_DEPTH} levels deep`,
              position(docStart),
            ),
      );
      return;
    }
    const locate: Locator = (path, target = "value") => {
      const offset = locateOffset(doc.contents as Node | null, path, target, (alias) =>
        alias.resolve(doc),
      );
      return position(offset ?? docStart);
    };
    result.documents.push({ file: source.path, index, value, locate });
  });
  return result;
}

/** The key text starting at `offset` (up to its colon), for messages. */
function keyAt(text: string, offset: number): string {
  const rest = text.slice(offset, offset + 120);
  const end = rest.search(/\s*:(\s|$)/);
  return (end >= 0 ? rest.slice(0, end) : rest.split("\n")[0]!).replace(/^["']|["']$/g, "");
}

function firstLine(message: string): string {
  return message.split("\n")[0]!.replace(/:$/, "");
}

function syntaxError(file: string, message: string, position: SourcePosition): Diagnostic {
  return {
    code: "CREMA_CONFIG_YAML_SYNTAX",
    severity: "error",
    message: `${file}: ${firstLine(message)}`,
    position,
  };
}

function aliasLimit(file: string, reason: string, position: SourcePosition): Diagnostic {
  return {
    code: "CREMA_CONFIG_YAML_ALIAS_LIMIT",
    severity: "error",
    message: `${file}: YAML aliases rejected (${firstLine(reason)}); write the configuration out without recursive or heavily repeated aliases`,
    position,
  };
}

/** Detects cycles (from self-referencing anchors) and excessive depth, iteratively. */
function checkShape(root: unknown): "cycle" | "depth" | undefined {
  const stack: Array<{ value: unknown; depth: number; exit?: boolean }> = [
    { value: root, depth: 0 },
  ];
  const onPath = new Set<unknown>();
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if (frame.exit) {
      onPath.delete(frame.value);
      continue;
    }
    const { value, depth } = frame;
    if (value === null || typeof value !== "object") continue;
    if (onPath.has(value)) return "cycle";
    if (depth > MAX_NESTING_DEPTH) return "depth";
    onPath.add(value);
    stack.push({ value, depth, exit: true });
    const children = value instanceof Map ? [...value.values()] : Object.values(value);
    for (const child of children) stack.push({ value: child, depth: depth + 1 });
  }
  return undefined;
}

function locateOffset(
  root: Node | null,
  path: FieldPath,
  target: LocateTarget,
  resolveAlias: (alias: Extract<Node, { source: string }>) => unknown,
): number | undefined {
  let node: unknown = root;
  let best: number | undefined = (root as { range?: [number] } | null)?.range?.[0];
  for (let i = 0; i < path.length; i++) {
    if (isAlias(node)) node = resolveAlias(node);
    const segment = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isScalar(p.key) && String(p.key.value) === String(segment),
      );
      if (!pair) return best;
      const keyOffset = isScalar(pair.key) ? pair.key.range?.[0] : undefined;
      if (last && target === "key") return keyOffset ?? best;
      node = pair.value;
      const valueOffset = (node as { range?: [number] } | null)?.range?.[0];
      best = valueOffset ?? keyOffset ?? best;
    } else if (isSeq(node) && typeof segment === "number") {
      const item = node.items[segment];
      if (item === undefined) return best;
      node = item;
      best = (item as { range?: [number] } | null)?.range?.[0] ?? best;
    } else {
      return best;
    }
  }
  return best;
}
