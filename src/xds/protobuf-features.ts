// protobufjs's edition features (field presence, UTF-8 checking, closed enums) as its own codecs
// read them. protobufjs keeps them in the private `_features` and settles them for a whole Root
// either in resolveAll() or on the first codec it generates (Type.setup); the reflective decoder
// generates none and the Envoy Root skips resolveAll(), so both settle them here, the way
// Type.setup does.
import type protobuf from "protobufjs";

export interface Features {
  readonly field_presence?: string;
  readonly utf8_validation?: string;
  readonly enum_type?: string;
}

interface FeatureInternals {
  _features?: Features;
  _edition?: string | null;
  _needsRecursiveFeatureResolution?: boolean;
  _resolveFeaturesRecursive?: (edition: string) => unknown;
}

/** Settles the features of everything in `root` unless that is done (as Type.setup does). */
export function resolveFeatures(root: protobuf.Root, edition?: string | null): void {
  const internals = root as unknown as FeatureInternals;
  if (typeof internals._resolveFeaturesRecursive !== "function") {
    // Not the protobufjs these internals come from: resolving everything settles them too.
    root.resolveAll();
    return;
  }
  if (!internals._needsRecursiveFeatureResolution) return;
  const chosen = internals._edition || edition;
  if (chosen) internals._resolveFeaturesRecursive.call(root, chosen);
}

/** The settled features of a field, enum or type (resolveFeatures on its root first). */
export function featuresOf(object: protobuf.ReflectionObject): Features {
  return (object as unknown as FeatureInternals)._features ?? {};
}

/** The edition a type was declared in, which Type.setup falls back on for its root. */
export function editionOf(object: protobuf.ReflectionObject): string | null | undefined {
  return (object as unknown as FeatureInternals)._edition;
}
