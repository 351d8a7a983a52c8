// The message name of a typed_config's `@type` URL (what Envoy looks an extension up by).
export function typeName(url: string): string {
  return url.slice(url.lastIndexOf("/") + 1);
}
