// The reflective encoder's view of a message type (proto-encode.ts): its fields in field-number
// order with what writing each takes (tags, scalar kind, presence, packing, enum tables, map key
// and value), how a JSON key finds its field, and which well-known JSON form the type has. Built
// from protobufjs's reflection on a type's first encode and kept per type.
import protobuf from "protobufjs";
import { KIND, READ, READS } from "./proto-decode-plan.ts";
import { editionOf, featuresOf, resolveFeatures } from "./protobuf-features.ts";
import { fullNameOf, WRAPPERS } from "./well-known-json.ts";

export { KIND, READ };

/** The JSON form a type is written from. */
export const SHAPE = {
  PLAIN: 0,
  DURATION: 1,
  WRAPPER: 2,
  STRUCT: 3,
  VALUE: 4,
  LIST: 5,
  ANY: 6,
} as const;

export interface EncodeField {
  readonly name: string;
  readonly id: number;
  readonly kind: number;
  /** The key of one value (of a map: of the entry). */
  readonly tag: number;
  /** How one value (of a map: the entry's value) is written; enums as INT32, -1 for messages. */
  readonly scalar: number;
  /** Written as one length-delimited run (packed and of a packable type). */
  readonly packed: boolean;
  /** Set means written, whatever the value (proto3 optional, oneof members, proto2). */
  readonly presence: boolean;
  /** proto2 required: written even when unset. */
  readonly required: boolean;
  /** Enum numbers by name (own names only, as protobufjs's generated switch has them). */
  readonly enumByName: ReadonlyMap<string, number> | undefined;
  readonly enumNumbers: ReadonlySet<number> | undefined;
  /** A closed (proto2) enum: unknown numbers are not taken. */
  readonly closed: boolean;
  /** protobufjs's typeDefault: what a field without presence leaves out. */
  readonly typeDefault: unknown;
  /** The value an unset proto2 required field is written with (the message prototype's). */
  readonly defaultValue: unknown;
  /** The message type of a message field (of a map: its values'). */
  readonly type: protobuf.Type | undefined;
  child: EncodePlan | undefined;
  /** The end-group tag of a group-encoded (delimited) message field. */
  readonly groupEnd: number | undefined;
  // Maps only.
  readonly keyScalar: number;
  readonly keyTag: number;
  /** The key of the entry's value. */
  readonly valueTag: number;
}

export interface EncodePlan {
  readonly type: protobuf.Type;
  /** The full name without the leading dot, as error messages give it. */
  readonly name: string;
  readonly fullName: string;
  readonly shape: number;
  /** Fields by number, the order protobufjs's encoder writes them in. */
  readonly fields: readonly EncodeField[];
  readonly byName: ReadonlyMap<string, EncodeField>;
  /** proto2 required fields, written even when unset. */
  readonly required: readonly EncodeField[];
  /**
   * protobufjs's `type.fields`, a plain object: the old path looked JSON keys up in it, so names
   * inherited from Object.prototype ("constructor", "__proto__"…) found something there.
   */
  readonly inherited: Readonly<Record<string, unknown>>;
}

const plans = new WeakMap<protobuf.Type, EncodePlan>();

/** The plan of `type`, built on its first use. */
export function encodePlanOf(type: protobuf.Type): EncodePlan {
  let plan = plans.get(type);
  if (plan === undefined) {
    plan = buildPlan(type);
    plans.set(type, plan);
  }
  return plan;
}

/** The plan of a message field's type (of a map: its values'). */
export function childPlanOf(field: EncodeField): EncodePlan {
  if (field.child === undefined) field.child = encodePlanOf(field.type!);
  return field.child;
}

function shapeOf(fullName: string): number {
  switch (fullName) {
    case ".google.protobuf.Duration":
      return SHAPE.DURATION;
    case ".google.protobuf.Struct":
      return SHAPE.STRUCT;
    case ".google.protobuf.Value":
      return SHAPE.VALUE;
    case ".google.protobuf.ListValue":
      return SHAPE.LIST;
    case ".google.protobuf.Any":
      return SHAPE.ANY;
    default:
      return WRAPPERS.has(fullName) ? SHAPE.WRAPPER : SHAPE.PLAIN;
  }
}

function buildPlan(type: protobuf.Type): EncodePlan {
  resolveFeatures(type.root, editionOf(type));
  const fullName = fullNameOf(type);
  const fields = type.fieldsArray
    .slice()
    .sort((a, b) => a.id - b.id)
    .map((f) => fieldPlan(f.resolve()));
  return {
    type,
    name: fullName.slice(1),
    fullName,
    shape: shapeOf(fullName),
    fields,
    byName: new Map(fields.map((f) => [f.name, f])),
    required: fields.filter((f) => f.required),
    inherited: type.fields,
  };
}

function fieldPlan(field: protobuf.Field): EncodeField {
  const resolved = field.resolvedType;
  const enumType = resolved instanceof protobuf.Enum ? resolved : undefined;
  const messageType = resolved instanceof protobuf.Type ? resolved : undefined;
  const basic = protobuf.types.basic as Record<string, number | undefined>;
  const scalarType = enumType ? "int32" : field.type;
  const isMap = field instanceof protobuf.MapField;
  const delimited = messageType !== undefined && field.delimited && !isMap;
  const wire = messageType ? (delimited ? 3 : 2) : (basic[scalarType] ?? 2);
  const kind = isMap
    ? KIND.MAP
    : field.repeated
      ? messageType
        ? KIND.REPEATED_MESSAGE
        : KIND.REPEATED
      : messageType
        ? KIND.MESSAGE
        : KIND.SCALAR;
  const packable =
    (protobuf.types.packed as Record<string, number | undefined>)[scalarType] !== undefined;
  const packed = kind === KIND.REPEATED && field.packed && packable;
  const keyType = isMap ? field.keyType : "string";
  const names = enumType ? Object.keys(enumType.values) : [];
  return {
    name: field.name,
    id: field.id,
    kind,
    tag: isMap || packed ? ((field.id << 3) | 2) >>> 0 : ((field.id << 3) | wire) >>> 0,
    scalar: messageType ? -1 : (READS[scalarType] ?? -1),
    packed,
    presence: field.hasPresence,
    required: field.required,
    enumByName: enumType ? new Map(names.map((n) => [n, enumType.values[n]!])) : undefined,
    enumNumbers: enumType ? new Set(names.map((n) => enumType.values[n]!)) : undefined,
    closed: enumType !== undefined && featuresOf(enumType).enum_type === "CLOSED",
    typeDefault: field.typeDefault,
    defaultValue: field.defaultValue,
    type: messageType,
    child: undefined,
    groupEnd: delimited ? ((field.id << 3) | 4) >>> 0 : undefined,
    keyScalar: READS[keyType] ?? READ.STRING,
    keyTag:
      (8 | ((protobuf.types.mapKey as Record<string, number | undefined>)[keyType] ?? 2)) >>> 0,
    valueTag: messageType ? 18 : (16 | (basic[scalarType] ?? 2)) >>> 0,
  };
}
