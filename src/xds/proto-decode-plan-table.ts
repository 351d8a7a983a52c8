// Decode plans (proto-decode-plan.ts) written out ahead of time as a table of plain rows, and read
// back. Building a plan from protobufjs's reflection first needs the reflection objects of the
// type, its fields' types and their features; for the few hundred Envoy types of a first xDS push
// that was a third of the CPU a proxy spent decoding it. The rows hold what the reflection
// answered; what follows from those answers alone (packable, map key defaults, a map value's
// default) is derived again on reading.
import protobuf from "protobufjs";
import {
  type FieldPlan,
  type PlanSource,
  planOf,
  READ,
  type TypePlan,
} from "./proto-decode-plan.ts";

/**
 * One field: name, number, kind, wire, read, flags (FLAG), enum (index into the table's enums,
 * -1 for none), message type's full name ("" for none), enum default, oneof siblings' slots,
 * end-group tag (0 for none), map key read, map key wire.
 */
export type FieldRow = [
  name: string,
  number: number,
  kind: number,
  wire: number,
  read: number,
  flags: number,
  enumIndex: number,
  typeName: string,
  enumDefault: number,
  siblings: number[],
  groupEnd: number,
  keyRead: number,
  keyWire: number,
];

/** A message type: its JSON form (FORM) and its fields in number order. */
export type TypeRow = [form: number, fields: FieldRow[]];

export interface PlanTable {
  /** Enum names by number; fields of the same enum share one. */
  readonly enums: readonly Record<string, string>[];
  /** By full name without the leading dot. */
  readonly types: Readonly<Record<string, TypeRow>>;
}

const FLAG = { PRESENCE: 1, CLOSED: 2, REQUIRED: 4 } as const;

/** The row of `plan` (enum name tables go to `enums`, shared by identity). */
function typeRowOf(plan: TypePlan, enums: Map<Record<number, string>, number>): TypeRow {
  // Only the numbers in use: byNumber is sparse, and field numbers go up to 2^29 - 1.
  const numberOf = new Map(Object.keys(plan.byNumber).map((n) => [plan.byNumber[+n]!, +n]));
  const required = new Set(plan.required);
  const rows = plan.fields.map((field): FieldRow => {
    let enumIndex = -1;
    if (field.names) {
      enumIndex = enums.get(field.names) ?? enums.size;
      enums.set(field.names, enumIndex);
    }
    return [
      field.name,
      numberOf.get(field)!,
      field.kind,
      field.wire,
      field.read,
      (field.presence ? FLAG.PRESENCE : 0) |
        (field.closed ? FLAG.CLOSED : 0) |
        (required.has(field) ? FLAG.REQUIRED : 0),
      enumIndex,
      field.typeName?.slice(1) ?? "",
      (field.enumDefault as number | undefined) ?? 0,
      [...(field.siblings ?? [])],
      field.groupEnd ?? 0,
      field.keyRead,
      field.keyWire,
    ];
  });
  return [plan.form, rows];
}

/** The plan of the type `name` (leading dot) from its row; its children come from `source`. */
function planOfRow(
  name: string,
  [form, rows]: TypeRow,
  enums: PlanTable["enums"],
  source: PlanSource,
): TypePlan {
  const fields: FieldPlan[] = [];
  const byNumber: (FieldPlan | undefined)[] = [];
  const required: FieldPlan[] = [];
  for (const [slot, row] of rows.entries()) {
    const [
      fieldName,
      number,
      kind,
      wire,
      read,
      flags,
      enumIndex,
      typeName,
      enumDefault,
      siblings,
      groupEnd,
      keyRead,
      keyWire,
    ] = row;
    const names = enumIndex < 0 ? undefined : enums[enumIndex];
    const field: FieldPlan = {
      slot,
      name: fieldName,
      kind,
      wire,
      read,
      packable: read >= 0 && read <= READ.BOOL,
      presence: (flags & FLAG.PRESENCE) !== 0,
      names,
      closed: (flags & FLAG.CLOSED) !== 0,
      enumDefault: names ? enumDefault : undefined,
      siblings: siblings.length > 0 ? siblings : undefined,
      typeName: typeName === "" ? undefined : `.${typeName}`,
      child: undefined,
      groupEnd: groupEnd === 0 ? undefined : groupEnd,
      keyRead,
      keyWire,
      keyDefault: keyRead === READ.BOOL ? false : isStringRead(keyRead) ? "" : 0,
      longKey: isLongRead(keyRead),
      unsignedKey: keyRead === READ.UINT64 || keyRead === READ.FIXED64,
      valueDefault: typeName === "" ? valueDefaultOf(read, names) : undefined,
    };
    fields.push(field);
    byNumber[number] = field;
    if ((flags & FLAG.REQUIRED) !== 0) required.push(field);
  }
  return { name, form, fields, byNumber, required, source };
}

function isStringRead(read: number): boolean {
  return read === READ.STRING || read === READ.STRING_VERIFIED;
}

function isLongRead(read: number): boolean {
  return read >= READ.INT64 && read <= READ.SFIXED64;
}

/** What a map entry's missing scalar value decodes to (proto-decode-plan.ts's scalarDefault). */
function valueDefaultOf(read: number, names: Record<number, string> | undefined): unknown {
  if (read === READ.BYTES) return new Uint8Array();
  if (names) return names[0] ?? 0;
  if (isLongRead(read)) return "0";
  if (read === READ.BOOL) return false;
  return isStringRead(read) ? "" : 0;
}

/** Plans read from `table` on first use, by full name with or without the leading dot. */
export function tablePlans(table: PlanTable, fallback: PlanSource): PlanSource {
  const plans = new Map<string, TypePlan>();
  const source: PlanSource = {
    plan(name) {
      const key = name.startsWith(".") ? name.slice(1) : name;
      let plan = plans.get(key);
      if (plan === undefined) {
        const row = table.types[key];
        // Not a full name in the table: protobufjs's lookup also tries names relative to
        // nested namespaces, which the fallback does as it always did.
        if (row === undefined) return fallback.plan(name);
        plan = planOfRow(`.${key}`, row, table.enums, source);
        plans.set(key, plan);
      }
      return plan;
    },
  };
  return source;
}

/** The table of every message type in `root` (fully resolved), for the generator. */
export function planTableOf(root: protobuf.Root): PlanTable {
  const enums = new Map<Record<number, string>, number>();
  const types: Record<string, TypeRow> = {};
  const visit = (namespace: protobuf.NamespaceBase): void => {
    for (const nested of namespace.nestedArray) {
      if (nested instanceof protobuf.Type) {
        const plan = planOf(nested);
        types[plan.name.slice(1)] = typeRowOf(plan, enums);
      }
      // Types are namespaces too: nested messages are visited with the packages.
      if (nested instanceof protobuf.Namespace) visit(nested);
    }
  };
  visit(root);
  return { enums: [...enums.keys()].map((names) => ({ ...names })), types };
}
