// The keys (field number and wire type) that precede fields on the wire, for the code that
// writes and reads xDS messages field by field with protobufjs's Writer and Reader: they come
// from the loaded descriptors, so no field number is typed in by hand.
import protobuf from "protobufjs";
import { messageType } from "../envoy-protos.ts";

const LENGTH_DELIMITED = 2;

function wireType(field: protobuf.Field): number | undefined {
  const basic = (protobuf.types.basic as Record<string, number | undefined>)[field.type];
  if (basic !== undefined) return basic;
  // Neither a scalar nor an enum: a message, length-delimited unless encoded as a group.
  const resolved = field.resolve().resolvedType;
  return resolved instanceof protobuf.Type && !field.delimited ? LENGTH_DELIMITED : undefined;
}

/** The key protobufjs's own encoder writes before each value of field `name` of `type`. Only
 * length-delimited fields (strings, bytes, messages) are handled field by field. */
export function lengthDelimitedKey(type: protobuf.Type, name: string): number {
  const field = type.fields[name];
  if (!field || wireType(field) !== LENGTH_DELIMITED)
    throw new Error(`${type.fullName}.${name} is not a length-delimited field`);
  return ((field.id << 3) | LENGTH_DELIMITED) >>> 0;
}

/**
 * The keys of `names` in the message `typeName`, looked up on first use: the descriptors are
 * loaded when first needed, not when a module that writes or reads messages is imported. `names`
 * are listed in field-number order, the order protobufjs's encoder writes them in, and a writer
 * that follows the list writes what protobufjs would: a list out of order is refused.
 */
export function keysOf<const N extends string>(
  typeName: string,
  names: readonly N[],
): () => Readonly<Record<N, number>> {
  let keys: Record<N, number> | undefined;
  return () => {
    if (!keys) {
      const type = messageType(typeName);
      const found = names.map((name) => [name, lengthDelimitedKey(type, name)] as const);
      for (let i = 1; i < found.length; i++)
        if (found[i]![1] <= found[i - 1]![1])
          throw new Error(`${typeName}: ${found[i]![0]} comes before ${found[i - 1]![0]}`);
      keys = Object.fromEntries(found) as Record<N, number>;
    }
    return keys;
  };
}
