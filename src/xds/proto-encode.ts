// Encodes crema's proto3-JSON straight into protobuf binary by walking protobufjs's reflection
// with its wire Writer. protobufjs's own fromObject/encode first generate their functions per
// message type with `new Function`; the control plane encodes every resource it pushes and every
// proxy a Struct at start, and that code generation was most of the CPU the first encode took.
//
// The bytes are exactly those of the path encodeJson took before: the well-known-type mapping of
// proto-json.ts (jsonToProtobufObject), then `type.fromObject` and `type.encode`. So fields go
// out in field-number order; a proto3 field without presence is left out at its default, one
// with presence (optional, oneof member, message) is written when set, even every member of a
// oneof given several; repeated scalars are packed unless declared unpacked; map entries go in
// the object's key order with key and value; scalars are converted as fromObject converts them
// (proto-encode-scalars.ts). Errors are those of the old path too, whose first pass checked the
// whole document depth-first in key order and threw CREMA_XDS_INVALID_RESOURCE naming the field,
// before protobufjs's conversion threw its own TypeErrors. This encoder writes in field order
// and cannot see which error the old path would have met first, so on any failure it walks the
// document again in key order, writing to scratch ("check"), and throws the first error that
// walk meets, or else the first value protobufjs could not have converted (as a CremaError
// naming the field, where protobufjs threw a TypeError or a plain Error).
import protobuf from "protobufjs";
import { CremaError } from "../base/errors.ts";
import {
  childPlanOf,
  type EncodeField,
  type EncodePlan,
  encodePlanOf,
  KIND,
  SHAPE,
} from "./proto-encode-plan.ts";
import {
  convert,
  isSetInput,
  isWritten,
  UNSET,
  writeMapKey,
  writePacked,
  writeScalar,
} from "./proto-encode-scalars.ts";
import { fullNameOf, isObject, lookupByUrl } from "./well-known-json.ts";

/** protobufjs's nesting limit for fromObject and encode, counted afresh inside each Any. */
const RECURSION_LIMIT =
  (protobuf.util as unknown as { recursionLimit?: number }).recursionLimit ?? 100;

/** Nesting limit across Any values, as the decoder's: the walk must not overflow the stack. */
const MAX_NESTING = 5 * RECURSION_LIMIT;

const DURATION = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;

/** The value of a proto2 required field left unset, which protobufjs's encoder writes anyway. */
const ABSENT: unique symbol = Symbol("absent");

/** Thrown by the writing walk on any failure; the checking walk then finds the error to throw. */
const FAILED = new Error("proto-encode: failed");
/** Thrown by the writing walk for a field given twice (as "foo_bar" and "fooBar"). */
const DUPLICATE = new Error("proto-encode: duplicate field");

interface Walk {
  readonly w: protobuf.Writer;
  /** The checking walk: key order, paths, conversion failures recorded instead of thrown. */
  readonly check: boolean;
  /** A field given twice takes its last value (known valid from a checking walk). */
  readonly duplicates: boolean;
  /** fromObject's depth of the message being written (from 0 at the top and in each Any). */
  depth: number;
  /** Messages nested, across Anys. */
  nesting: number;
  /** The first value protobufjs could not have converted (checking walk, current Any). */
  unconvertible: CremaError | undefined;
  /** Inside values a later key overrides, which protobufjs never converted. */
  quiet: number;
}

/** Encodes a proto3-JSON value as `type` (see the file header for the rules). */
export function encodeMessageJson(type: protobuf.Type, json: unknown): Uint8Array {
  const plan = encodePlanOf(type);
  let duplicates = false;
  for (;;) {
    const walk = newWalk(false, duplicates);
    try {
      writeMessage(walk, plan, json, "");
      return walk.w.finish();
    } catch (error) {
      if (error !== FAILED && error !== DUPLICATE) throw error;
      const check = newWalk(true, true);
      writeMessage(check, plan, json, "");
      if (check.unconvertible) throw check.unconvertible;
      if (error === DUPLICATE && !duplicates) {
        duplicates = true;
        continue;
      }
      throw invalid("", "cannot be encoded");
    }
  }
}

function newWalk(check: boolean, duplicates: boolean): Walk {
  return {
    w: protobuf.Writer.create(),
    check,
    duplicates,
    depth: 0,
    nesting: 0,
    unconvertible: undefined,
    quiet: 0,
  };
}

function invalid(path: string, message: string): CremaError {
  return new CremaError("CREMA_XDS_INVALID_RESOURCE", `${path || "(root)"}: ${message}`);
}

/** A check of the old path's first pass failed. */
function reject(walk: Walk, path: string, message: string): never {
  throw walk.check ? invalid(path, message) : FAILED;
}

/** protobufjs's conversion or encoding would have thrown here. */
function unconvertible(walk: Walk, path: string, message: string): void {
  if (!walk.check) throw FAILED;
  if (walk.quiet === 0 && walk.unconvertible === undefined)
    walk.unconvertible = invalid(path, message);
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---- messages ----

function writeMessage(walk: Walk, plan: EncodePlan, json: unknown, path: string): void {
  if (walk.nesting > MAX_NESTING)
    reject(walk, path, `messages nested more than ${MAX_NESTING} deep (through Any values)`);
  switch (plan.shape) {
    case SHAPE.DURATION:
      writeDuration(walk, plan, json, path);
      return;
    case SHAPE.WRAPPER:
      atDepth(walk, path);
      if (json !== null && json !== undefined) writeSingular(walk, plan.fields[0]!, json, path);
      return;
    case SHAPE.STRUCT:
      if (!isObject(json)) reject(walk, path, "expected an object (Struct)");
      writeStruct(walk, json, path);
      return;
    case SHAPE.VALUE:
      writeValue(walk, json, path);
      return;
    case SHAPE.LIST:
      if (!Array.isArray(json)) reject(walk, path, "expected a list");
      writeList(walk, json, path);
      return;
    case SHAPE.ANY:
      writeAny(walk, plan, json, path);
      return;
    default:
      writePlain(walk, plan, json, path, false);
      return;
  }
}

/** fromObject and encode throw past their depth limit (after the first pass's checks). */
function atDepth(walk: Walk, path: string): void {
  if (walk.depth > RECURSION_LIMIT)
    unconvertible(walk, path, `messages nested more than ${RECURSION_LIMIT} deep`);
}

/**
 * A message's own fields. `inAny`: the fields of an Any's message, next to its "@type".
 * The old path looked a key up in protobufjs's `type.fields`, then as snake_case; a name that
 * object inherits ("constructor") found no field but passed given null (and crashed otherwise).
 */
function fieldOf(plan: EncodePlan, key: string): EncodeField | null | undefined {
  const field = plan.byName.get(key);
  if (field !== undefined) return field;
  if (plan.inherited[key] !== undefined) return null;
  return plan.byName.get(snakeCase(key));
}

function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function writePlain(
  walk: Walk,
  plan: EncodePlan,
  json: unknown,
  path: string,
  inAny: boolean,
): void {
  if (!isObject(json)) reject(walk, path, `expected an object for ${plan.name}`);
  if (walk.check) {
    checkPlain(walk, plan, json, path, inAny);
    return;
  }
  const fields: EncodeField[] = [];
  const values: unknown[] = [];
  let inOrder = true;
  let highest = -1;
  for (const key of Object.keys(json)) {
    if (inAny && key === "@type") continue;
    const field = fieldOf(plan, key);
    const raw = json[key];
    if (field === undefined) throw FAILED;
    if (raw === null || raw === undefined) continue;
    if (field === null) throw FAILED;
    if (field.id <= highest) {
      const at = fields.indexOf(field);
      if (at >= 0) {
        if (!walk.duplicates) throw DUPLICATE;
        values[at] = raw;
        continue;
      }
      inOrder = false;
    } else highest = field.id;
    fields.push(field);
    values.push(raw);
  }
  atDepth(walk, path);
  if (plan.required.length) {
    addRequired(plan, fields, values);
    inOrder = true;
  }
  if (inOrder) for (let i = 0; i < fields.length; i++) writeField(walk, fields[i]!, values[i], "");
  else {
    const order = fields.map((_, i) => i).sort((a, b) => fields[a]!.id - fields[b]!.id);
    for (const i of order) writeField(walk, fields[i]!, values[i], "");
  }
}

/** The checking walk: keys in order, each value checked before the next key is looked up. */
function checkPlain(
  walk: Walk,
  plan: EncodePlan,
  json: Record<string, unknown>,
  path: string,
  inAny: boolean,
): void {
  const keys = Object.keys(json).filter((key) => !(inAny && key === "@type"));
  // The last key given a value wins; protobufjs never saw the others.
  const winner = new Map<EncodeField, string>();
  for (const key of keys) {
    const field = fieldOf(plan, key);
    if (field && json[key] !== null && json[key] !== undefined) winner.set(field, key);
  }
  for (const key of keys) {
    const fieldPath = path ? `${path}.${key}` : key;
    const field = fieldOf(plan, key);
    const raw = json[key];
    if (field === undefined || (field === null && raw !== null && raw !== undefined))
      reject(walk, fieldPath, `unknown field of ${plan.name}`);
    if (field === null || raw === null || raw === undefined) continue;
    const overridden = winner.get(field) !== key;
    if (overridden) walk.quiet++;
    writeField(walk, field, raw, fieldPath);
    if (overridden) walk.quiet--;
  }
  atDepth(walk, path);
  for (const field of plan.required)
    if (!winner.has(field))
      writeField(walk, field, ABSENT, path ? `${path}.${field.name}` : field.name);
}

/** Adds the unset proto2 required fields (protobufjs writes them anyway) and sorts by number. */
function addRequired(plan: EncodePlan, fields: EncodeField[], values: unknown[]): void {
  for (const field of plan.required)
    if (!fields.includes(field)) {
      fields.push(field);
      values.push(ABSENT);
    }
  const order = fields.map((_, i) => i).sort((a, b) => fields[a]!.id - fields[b]!.id);
  const sortedFields = order.map((i) => fields[i]!);
  const sortedValues = order.map((i) => values[i]);
  fields.splice(0, fields.length, ...sortedFields);
  values.splice(0, values.length, ...sortedValues);
}

function writeField(walk: Walk, field: EncodeField, raw: unknown, path: string): void {
  switch (field.kind) {
    case KIND.SCALAR:
      writeSingular(walk, field, raw, path);
      return;
    case KIND.MESSAGE:
      if (raw === ABSENT) {
        unconvertible(walk, path, "required field is unset");
        return;
      }
      writeChild(walk, field, raw, path);
      return;
    case KIND.REPEATED:
      if (!Array.isArray(raw)) reject(walk, path, "expected a list");
      writeRepeated(walk, field, raw, path);
      return;
    case KIND.REPEATED_MESSAGE: {
      if (!Array.isArray(raw)) reject(walk, path, "expected a list");
      for (let i = 0; i < raw.length; i++)
        writeChild(walk, field, raw[i], walk.check ? `${path}[${i}]` : "");
      return;
    }
    default:
      if (!isObject(raw)) reject(walk, path, "expected a map (object)");
      writeMap(walk, field, raw, path);
      return;
  }
}

/** One message value of a message field (a group's between its start and end tags). */
function writeChild(walk: Walk, field: EncodeField, raw: unknown, path: string): void {
  const w = walk.w;
  const child = childPlanOf(field);
  walk.depth++;
  walk.nesting++;
  if (field.groupEnd === undefined) {
    w.uint32(field.tag).fork();
    writeMessage(walk, child, raw, path);
    w.ldelim();
  } else {
    w.uint32(field.tag);
    writeMessage(walk, child, raw, path);
    w.uint32(field.groupEnd);
  }
  walk.depth--;
  walk.nesting--;
}

function writeSingular(walk: Walk, field: EncodeField, raw: unknown, path: string): void {
  if (raw === ABSENT) {
    writeRequired(walk, field, field.defaultValue, path);
    return;
  }
  if (!field.presence && !isSetInput(field, raw)) return;
  let value: unknown;
  try {
    value = convert(field, raw);
  } catch (error) {
    unconvertible(walk, path, reason(error));
    return;
  }
  if (field.required) {
    writeRequired(walk, field, value === UNSET ? field.defaultValue : value, path);
    return;
  }
  if (value === UNSET || (!field.presence && !isWritten(field, value))) return;
  writeScalar(walk.w.uint32(field.tag), field.scalar, value);
}

/** protobufjs writes a required field whatever it holds: unset, its default (the prototype's). */
function writeRequired(walk: Walk, field: EncodeField, value: unknown, path: string): void {
  try {
    writeScalar(walk.w.uint32(field.tag), field.scalar, value);
  } catch (error) {
    unconvertible(walk, path, `required field: ${reason(error)}`);
  }
}

function writeRepeated(walk: Walk, field: EncodeField, raw: unknown[], path: string): void {
  const values: unknown[] = [];
  for (let i = 0; i < raw.length; i++) {
    let value: unknown;
    try {
      value = convert(field, raw[i]);
    } catch (error) {
      unconvertible(walk, walk.check ? `${path}[${i}]` : "", reason(error));
      continue;
    }
    if (value !== UNSET) values.push(value);
    // fromObject drops an unknown enum value; any other unset element the encoder cannot write.
    else if (field.enumByName === undefined)
      unconvertible(walk, walk.check ? `${path}[${i}]` : "", "not a value of this type");
  }
  if (!values.length) return;
  const w = walk.w;
  if (field.packed) writePacked(w.uint32(field.tag), field.scalar, values);
  else for (const value of values) writeScalar(w.uint32(field.tag), field.scalar, value);
}

function writeMap(
  walk: Walk,
  field: EncodeField,
  raw: Record<string, unknown>,
  path: string,
): void {
  const w = walk.w;
  for (const key of Object.keys(raw)) {
    const entryPath = walk.check ? `${path}[${JSON.stringify(key)}]` : "";
    let value: unknown;
    if (field.type === undefined) {
      try {
        value = convert(field, raw[key]);
      } catch (error) {
        unconvertible(walk, entryPath, reason(error));
        continue;
      }
      // An unset value leaves the entry out, but for "__proto__", which fromObject made an own
      // property first, whose undefined is written.
      if (value === UNSET) {
        if (key !== "__proto__") continue;
        value = undefined;
      }
    }
    w.uint32(field.tag).fork();
    try {
      writeMapKey(w, field, key);
    } catch (error) {
      unconvertible(walk, entryPath, `map key: ${reason(error)}`);
    }
    if (field.type !== undefined) {
      walk.depth++;
      walk.nesting++;
      w.uint32(18).fork();
      writeMessage(walk, childPlanOf(field), raw[key], entryPath);
      w.ldelim();
      walk.depth--;
      walk.nesting--;
    } else {
      try {
        writeScalar(w.uint32(field.valueTag), field.scalar, value);
      } catch (error) {
        unconvertible(walk, entryPath, reason(error));
      }
    }
    w.ldelim();
  }
}

// ---- well-known types ----

function writeDuration(walk: Walk, plan: EncodePlan, json: unknown, path: string): void {
  const match = typeof json === "string" ? DURATION.exec(json) : null;
  if (!match)
    reject(
      walk,
      path,
      walk.check ? `${JSON.stringify(json)} is not a protobuf duration such as "1.5s"` : "",
    );
  atDepth(walk, path);
  const nanos = Number((match[3] ?? "").padEnd(9, "0"));
  writeSingular(walk, plan.fields[0]!, `${match[1] ?? ""}${match[2]}`, path);
  writeSingular(walk, plan.fields[1]!, match[1] ? -nanos : nanos, path);
}

// google.protobuf.Struct, Value and ListValue by their frozen field numbers: Struct.fields = 1
// (map<string, Value>), Value's oneof null_value = 1, number_value = 2, string_value = 3,
// bool_value = 4, struct_value = 5, list_value = 6, ListValue.values = 1.

function writeStruct(walk: Walk, json: Record<string, unknown>, path: string): void {
  atDepth(walk, path);
  const w = walk.w;
  walk.depth++;
  walk.nesting++;
  for (const key of Object.keys(json)) {
    w.uint32(10).fork().uint32(10).string(key).uint32(18).fork();
    writeValue(walk, json[key], walk.check ? `${path}.${key}` : "");
    w.ldelim().ldelim();
  }
  walk.depth--;
  walk.nesting--;
}

function writeValue(walk: Walk, json: unknown, path: string): void {
  if (walk.nesting > MAX_NESTING)
    reject(walk, path, `messages nested more than ${MAX_NESTING} deep (through Any values)`);
  const w = walk.w;
  if (json === null) w.uint32(8).int32(0);
  else if (typeof json === "number") w.uint32(17).double(json);
  else if (typeof json === "string") w.uint32(26).string(json);
  else if (typeof json === "boolean") w.uint32(32).bool(json);
  else if (Array.isArray(json)) {
    walk.depth++;
    walk.nesting++;
    w.uint32(50).fork();
    writeList(walk, json, path);
    w.ldelim();
    walk.depth--;
    walk.nesting--;
  } else if (isObject(json)) {
    walk.depth++;
    walk.nesting++;
    w.uint32(42).fork();
    writeStruct(walk, json, path);
    w.ldelim();
    walk.depth--;
    walk.nesting--;
  } else reject(walk, path, "value cannot be represented in a Struct");
  // protobufjs's fromObject checks the depth once the first pass has checked the whole value.
  atDepth(walk, path);
}

function writeList(walk: Walk, json: unknown[], path: string): void {
  atDepth(walk, path);
  const w = walk.w;
  walk.depth++;
  walk.nesting++;
  for (let i = 0; i < json.length; i++) {
    w.uint32(10).fork();
    writeValue(walk, json[i], walk.check ? `${path}[${i}]` : "");
    w.ldelim();
  }
  walk.depth--;
  walk.nesting--;
}

/**
 * An Any: its type URL, then the named message written in place of the bytes the old path
 * encoded on their own (with fromObject's depth counted from 0 again), left out when empty.
 * A google.protobuf type given as {"@type", "value"} is written from that value.
 */
function writeAny(walk: Walk, plan: EncodePlan, json: unknown, path: string): void {
  if (!isObject(json) || typeof json["@type"] !== "string")
    reject(walk, path, 'an Any needs "@type"');
  const url = json["@type"];
  const inner = lookupByUrl(plan.type, url);
  if (!inner) reject(walk, path, `unknown type ${url}`);
  const innerPlan = encodePlanOf(inner);
  const w = walk.w as protobuf.Writer & { pos: number };
  const withoutValue = w.uint32(10).string(url).pos;
  const empty = w.uint32(18).fork().pos;
  const { depth, unconvertible: outer, quiet } = walk;
  walk.depth = 0;
  walk.nesting++;
  walk.unconvertible = undefined;
  // The old path converted and encoded the message at once, even inside an overridden value.
  walk.quiet = 0;
  if (fullNameOf(inner).startsWith(".google.protobuf.")) {
    const { "@type": _url, ...fields } = json;
    const bare = "value" in fields && Object.keys(fields).length === 1;
    writeMessage(walk, innerPlan, bare ? fields.value : fields, path);
  } else if (innerPlan.shape === SHAPE.PLAIN) writePlain(walk, innerPlan, json, path, true);
  else writeMessage(walk, innerPlan, json, path);
  if (walk.unconvertible) throw walk.unconvertible;
  walk.depth = depth;
  walk.nesting--;
  walk.unconvertible = outer;
  walk.quiet = quiet;
  atDepth(walk, path);
  // protobufjs leaves out empty bytes (value), so the key goes too.
  if (w.pos === empty) {
    w.reset();
    w.pos = withoutValue;
  } else w.ldelim();
}
