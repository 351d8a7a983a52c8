// The CEL environment crema compiles expressions in: Envoy's top-level attribute names, each an
// object whose fields are the attributes StreamInfo can answer (attributes.ts). Built once per
// process, on the first expression: the library's environments are expensive to create (a third
// of a proxy's CEL cost at start-up), and most proxies are never sent an expression.
import type { Environment } from "@marcbachmann/cel-js";
import { ATTRIBUTE_GROUPS } from "./attributes.ts";
import { celLibrary } from "./library.ts";

type AttributeGroup = (typeof ATTRIBUTE_GROUPS)[keyof typeof ATTRIBUTE_GROUPS];

/** A group's attribute names: its getters. */
function attributeNames(group: AttributeGroup): string[] {
  return Object.getOwnPropertyNames(group.prototype).filter((name) => name !== "constructor");
}

function createEnvironment(): Environment {
  // Undeclared names are compile errors: crema could never answer them, so the expression would
  // always error.
  const environment = new (celLibrary().Environment)({ unlistedVariablesAreDyn: false });
  for (const group of new Set(Object.values(ATTRIBUTE_GROUPS))) {
    // dyn, not the attributes' own types: Envoy does not type-check, so comparing an int with a
    // string is an evaluation error (not logged), never a rejected config.
    const fields = Object.fromEntries(attributeNames(group).map((name) => [name, "dyn"]));
    environment.registerType(group.name, { ctor: group, fields });
  }
  for (const [name, group] of Object.entries(ATTRIBUTE_GROUPS)) {
    environment.registerVariable(name, group.name);
  }
  return environment;
}

let shared: Environment | undefined;

export function celEnvironment(): Environment {
  shared ??= createEnvironment();
  return shared;
}

/** Every attribute the environment declares, for error messages: `request.{path, …}, …`. */
export function supportedAttributes(): string {
  return Object.entries(ATTRIBUTE_GROUPS)
    .map(([name, group]) => `${name}.{${attributeNames(group).join(", ")}}`)
    .join(", ");
}
