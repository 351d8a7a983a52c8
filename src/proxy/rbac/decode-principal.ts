// config.rbac.v3.Principal (who the downstream is): identities from the connection (addresses,
// peer certificate) or the request (headers, path, metadata, filter state), with and/or/not.
import type { Fields } from "../routing/decode-reader.ts";
import { allOf, anyOf, decodeAny, decodeSet, negate } from "./decode-permission.ts";
import {
  decodeAuthenticated,
  decodeCidr,
  decodeFilterState,
  decodeHeaderRule,
  decodeMetadataRule,
  decodeSourcedMetadata,
  decodeUrlPath,
  type RuleEnv,
} from "./leaf-matchers.ts";
import type { RbacMatcher } from "./types.ts";

const PRINCIPAL_IDS = [
  "and_ids",
  "or_ids",
  "any",
  "authenticated",
  "source_ip",
  "direct_remote_ip",
  "remote_ip",
  "header",
  "url_path",
  "metadata",
  "filter_state",
  "not_id",
  "sourced_metadata",
  "custom",
] as const;

export function decodePrincipal(f: Fields, env: RuleEnv): RbacMatcher | undefined {
  const id = f.oneof(PRINCIPAL_IDS);
  const s = id && id !== "any" ? f.object(id) : undefined;
  let out: RbacMatcher | undefined;
  switch (id) {
    case undefined:
      f.error(`one of ${PRINCIPAL_IDS.join(", ")} is required`);
      break;
    case "and_ids":
    case "or_ids":
      out = s && decodeSet(s, "ids", decodePrincipal, env, id === "and_ids" ? allOf : anyOf);
      break;
    case "any":
      out = decodeAny(f);
      break;
    case "authenticated":
      out = s && decodeAuthenticated(s);
      break;
    // source_ip is deprecated: the connection's remote address, i.e. direct_remote_ip here.
    case "source_ip":
    case "direct_remote_ip":
      out = s && decodeCidr(s, "directRemote");
      break;
    case "remote_ip":
      out = s && decodeCidr(s, "remote");
      break;
    case "header":
      out = s && decodeHeaderRule(s, env);
      break;
    case "url_path":
      out = s && decodeUrlPath(s);
      break;
    case "metadata":
      out = s && decodeMetadataRule(s);
      break;
    case "sourced_metadata":
      out = s && decodeSourcedMetadata(s);
      break;
    case "filter_state":
      out = s && decodeFilterState(s);
      break;
    case "not_id":
      out = negate(s && decodePrincipal(s, env));
      break;
    case "custom":
      f.error("custom principal extensions (envoy.rbac.principals) are not supported", id);
      break;
  }
  f.skip(...PRINCIPAL_IDS);
  f.finish();
  return out;
}
