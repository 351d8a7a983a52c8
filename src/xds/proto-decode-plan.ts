// The reflective decoder's view of a message type (proto-decode.ts): its fields in field-number
// order with what reading each takes (wire type, how to read a value, presence, enum names,
// oneof siblings, map key and value), built from protobufjs's reflection on a type's first
// decode and kept per type, so the decoder does not ask the reflection objects again. A plan
// finds the plans of its fields' types and of its Any values' types through its PlanSource: the
// reflection of its Root here, or a table of plans built ahead of time (proto-decode-plan-table.ts).
import protobuf from "protobufjs";
import { editionOf, featuresOf, resolveFeatures } from "./protobuf-features.ts";
import { fullNameOf, hasWellKnownJson, lookupMessageType } from "./well-known-json.ts";

/** How a value is read off the wire: protobufjs's basic types, numbered, plus checked UTF-8. */
export const READ = {
  DOUBLE: 0,
  FLOAT: 1,
  INT32: 2,
  UINT32: 3,
  SINT32: 4,
  FIXED32: 5,
  SFIXED32: 6,
  INT64: 7,
  UINT64: 8,
  SINT64: 9,
  FIXED64: 10,
  SFIXED64: 11,
  BOOL: 12,
  STRING: 13,
  BYTES: 14,
  STRING_VERIFIED: 15,
} as const;

export const READS: Record<string, number> = {
  double: READ.DOUBLE,
  float: READ.FLOAT,
  int32: READ.INT32,
  uint32: READ.UINT32,
  sint32: READ.SINT32,
  fixed32: READ.FIXED32,
  sfixed32: READ.SFIXED32,
  int64: READ.INT64,
  uint64: READ.UINT64,
  sint64: READ.SINT64,
  fixed64: READ.FIXED64,
  sfixed64: READ.SFIXED64,
  bool: READ.BOOL,
  string: READ.STRING,
  bytes: READ.BYTES,
};

/** A field's shape. */
export const KIND = { SCALAR: 0, MESSAGE: 1, REPEATED: 2, REPEATED_MESSAGE: 3, MAP: 4 } as const;

/** Whose JSON a type has: its fields', a well-known type's, or an Any's. */
export const FORM = { PLAIN: 0, WELL_KNOWN: 1, ANY: 2 } as const;

export interface FieldPlan {
  readonly slot: number;
  readonly name: string;
  readonly kind: number;
  /** The wire type of one value (of a map: of the entry's value). */
  readonly wire: number;
  /** How one value (of a map: the entry's value) is read; -1 for messages. */
  readonly read: number;
  readonly packable: boolean;
  readonly presence: boolean;
  /** The enum's names by number, for enum fields. */
  readonly names: Record<number, string> | undefined;
  /** A closed (proto2) enum: unknown numbers are dropped. */
  readonly closed: boolean;
  /** The default of a field without presence, for enums (the first value's number). */
  readonly enumDefault: unknown;
  /** Slots of the other members of this field's oneof. */
  readonly siblings: readonly number[] | undefined;
  /** The full name (leading dot) of a message field's type (of a map: its values'). */
  readonly typeName: string | undefined;
  /** That type's plan, once needed. */
  child: TypePlan | undefined;
  /** The end-group tag of a group-encoded (delimited) message field. */
  readonly groupEnd: number | undefined;
  // Maps only.
  readonly keyRead: number;
  readonly keyWire: number;
  readonly keyDefault: string | number | boolean;
  readonly longKey: boolean;
  readonly unsignedKey: boolean;
  /** What the decoder keeps for a scalar map value missing from its entry. */
  readonly valueDefault: unknown;
}

/** Where plans are found by a message type's full name (with or without the leading dot). */
export interface PlanSource {
  plan(name: string): TypePlan | undefined;
}

export interface TypePlan {
  /** The full name, with the leading dot. */
  readonly name: string;
  readonly form: number;
  /** Fields by number, the order toObject emits them in. */
  readonly fields: readonly FieldPlan[];
  readonly byNumber: readonly (FieldPlan | undefined)[];
  readonly required: readonly FieldPlan[];
  /** Where the plans of its fields' and Any values' types are. */
  readonly source: PlanSource;
}

const plans = new WeakMap<protobuf.Type, TypePlan>();
const sources = new WeakMap<protobuf.Root, PlanSource>();

/** Plans from the reflection of `root`, looked up as protobufjs's lookupType does. */
export function reflectivePlans(root: protobuf.Root): PlanSource {
  let source = sources.get(root);
  if (source === undefined) {
    source = {
      plan(name) {
        const type = lookupMessageType(root, name);
        return type && planOf(type);
      },
    };
    sources.set(root, source);
  }
  return source;
}

/** The plan of `type`, built on its first use. */
export function planOf(type: protobuf.Type): TypePlan {
  let plan = plans.get(type);
  if (plan === undefined) {
    plan = buildPlan(type);
    plans.set(type, plan);
  }
  return plan;
}

function buildPlan(type: protobuf.Type): TypePlan {
  resolveFeatures(type.root, editionOf(type));
  const name = fullNameOf(type);
  const sorted = type.fieldsArray.slice().sort((a, b) => a.id - b.id);
  const slotOf = new Map(sorted.map((f, i) => [f.name, i]));
  const fields = sorted.map((f, i) => fieldPlan(f.resolve(), i, slotOf));
  const byNumber: (FieldPlan | undefined)[] = [];
  for (const [i, f] of sorted.entries()) byNumber[f.id] = fields[i];
  const form =
    name === ".google.protobuf.Any"
      ? FORM.ANY
      : hasWellKnownJson(name)
        ? FORM.WELL_KNOWN
        : FORM.PLAIN;
  return {
    name,
    form,
    fields,
    byNumber,
    required: fields.filter((_, i) => sorted[i]!.required),
    source: reflectivePlans(type.root),
  };
}

/** The plan of `field`'s message type (of a map: its values'); `field` is one of `plan`'s. */
export function childOf(plan: TypePlan, field: FieldPlan): TypePlan {
  if (field.child === undefined) {
    const child = plan.source.plan(field.typeName!);
    if (child === undefined)
      throw Error(`no type ${field.typeName} for ${plan.name}.${field.name}`);
    field.child = child;
  }
  return field.child;
}

function fieldPlan(field: protobuf.Field, slot: number, slotOf: Map<string, number>): FieldPlan {
  const resolved = field.resolvedType;
  const enumType = resolved instanceof protobuf.Enum ? resolved : undefined;
  const messageType = resolved instanceof protobuf.Type ? resolved : undefined;
  const basic = protobuf.types.basic as Record<string, number | undefined>;
  const scalarType = enumType ? "int32" : field.type;
  const verified = featuresOf(field).utf8_validation === "VERIFY";
  let read = messageType ? -1 : (READS[scalarType] ?? -1);
  if (read === READ.STRING && verified) read = READ.STRING_VERIFIED;
  const isMap = field instanceof protobuf.MapField;
  // Map values are never groups (protobufjs reads them length-delimited whatever the features).
  const wire = messageType ? (field.delimited && !isMap ? 3 : 2) : (basic[scalarType] ?? 2);
  const kind = isMap
    ? KIND.MAP
    : field.repeated
      ? messageType
        ? KIND.REPEATED_MESSAGE
        : KIND.REPEATED
      : messageType
        ? KIND.MESSAGE
        : KIND.SCALAR;
  const names = enumType?.valuesById;
  const siblings = field.partOf?.oneof
    .filter((member) => member !== field.name)
    .map((member) => slotOf.get(member))
    .filter((s): s is number => s !== undefined);
  const keyType = isMap ? field.keyType : "string";
  let keyRead = READS[keyType] ?? READ.STRING;
  if (keyRead === READ.STRING && verified) keyRead = READ.STRING_VERIFIED;
  const defaults = protobuf.types.defaults as Record<string, unknown>;
  return {
    slot,
    name: field.name,
    kind,
    wire,
    read,
    packable:
      (protobuf.types.packed as Record<string, number | undefined>)[scalarType] !== undefined,
    presence: Boolean(field.hasPresence),
    names,
    closed: enumType !== undefined && featuresOf(enumType).enum_type === "CLOSED",
    enumDefault: enumType ? field.typeDefault : undefined,
    siblings: siblings?.length ? siblings : undefined,
    typeName: messageType && fullNameOf(messageType),
    child: undefined,
    groupEnd: messageType && field.delimited && !isMap ? ((field.id << 3) | 4) >>> 0 : undefined,
    keyRead,
    keyWire: (protobuf.types.mapKey as Record<string, number | undefined>)[keyType] ?? 2,
    keyDefault: (defaults[keyType] as string | number | boolean | undefined) ?? "",
    longKey: (protobuf.types.long as Record<string, number | undefined>)[keyType] !== undefined,
    unsignedKey: keyType === "uint64" || keyType === "fixed64",
    valueDefault: messageType ? undefined : scalarDefault(scalarType, names),
  };
}

/**
 * The value protobufjs's decoder starts a map entry's scalar value at, as the decoder keeps it
 * (enum names, 64-bit integers as strings, bytes as bytes).
 */
function scalarDefault(scalarType: string, names: Record<number, string> | undefined): unknown {
  if (scalarType === "bytes") return new Uint8Array();
  if (names) return names[0] ?? 0;
  if ((protobuf.types.long as Record<string, number | undefined>)[scalarType] !== undefined)
    return "0";
  return (protobuf.types.defaults as Record<string, unknown>)[scalarType];
}
