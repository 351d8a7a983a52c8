// The declarations of Envoy's Root (messages, enums, services and extensions directly inside a
// package) and which others each one needs resolved: its field, map-value and method types, and
// the extensions of it. Computed from a fully resolved Root by the descriptor generator
// (scripts/generate-envoy-descriptors.ts) so that envoy-protos.ts can build a proxy's Root from
// only the declarations it looks up — a proxy needs about half of them — without resolving
// anything itself.
import protobuf from "protobufjs";

export interface EnvoyDeclarations {
  /** Full names without the leading dot. */
  readonly names: readonly string[];
  /** For each name, the indexes (into names) of the declarations it needs. */
  readonly needs: readonly (readonly number[])[];
}

function isPackage(object: protobuf.ReflectionObject | null): object is protobuf.Namespace {
  return (
    object instanceof protobuf.Namespace &&
    !(object instanceof protobuf.Type) &&
    !(object instanceof protobuf.Service)
  );
}

/** The declaration an object belongs to: itself, or the outermost message it is nested in. */
function declarationOf(object: protobuf.ReflectionObject): protobuf.ReflectionObject {
  let declaration = object;
  while (declaration.parent && !isPackage(declaration.parent)) declaration = declaration.parent;
  return declaration;
}

function declarationsIn(namespace: protobuf.Namespace, out: protobuf.ReflectionObject[]): void {
  for (const nested of namespace.nestedArray) {
    if (isPackage(nested)) declarationsIn(nested, out);
    else out.push(nested);
  }
}

/** What `object` (a declaration or something nested in one) refers to. */
function referencesOf(object: protobuf.ReflectionObject, out: Set<protobuf.ReflectionObject>) {
  if (object instanceof protobuf.Type) {
    for (const field of object.fieldsArray) {
      field.resolve();
      if (field.resolvedType) out.add(declarationOf(field.resolvedType));
    }
  }
  if (object instanceof protobuf.Service) {
    for (const method of object.methodsArray) {
      method.resolve();
      if (method.resolvedRequestType) out.add(declarationOf(method.resolvedRequestType));
      if (method.resolvedResponseType) out.add(declarationOf(method.resolvedResponseType));
    }
  }
  if (object instanceof protobuf.Field && object.extensionField?.parent) {
    out.add(declarationOf(object.extensionField.parent));
    if (object.resolvedType) out.add(declarationOf(object.resolvedType));
  }
  if (object instanceof protobuf.Namespace) {
    for (const nested of object.nestedArray) referencesOf(nested, out);
  }
}

/** The declarations of a fully resolved `root` and what each needs. */
export function envoyDeclarations(root: protobuf.Root): EnvoyDeclarations {
  const declarations: protobuf.ReflectionObject[] = [];
  declarationsIn(root, declarations);
  const indexOf = new Map(declarations.map((d, i) => [d, i]));
  const needs = declarations.map(() => new Set<number>());
  for (const [i, declaration] of declarations.entries()) {
    const references = new Set<protobuf.ReflectionObject>();
    referencesOf(declaration, references);
    for (const reference of references) {
      const j = indexOf.get(reference);
      if (j === undefined || j === i) continue;
      needs[i]!.add(j);
      // An extension changes the message it extends: whoever needs that message gets it too.
      if (
        declaration instanceof protobuf.Field &&
        reference === declarationOf(declaration.extensionField!.parent!)
      ) {
        needs[j]!.add(i);
      }
    }
  }
  return {
    names: declarations.map((d) => d.fullName.slice(1)),
    needs: needs.map((set) => [...set].sort((a, b) => a - b)),
  };
}
