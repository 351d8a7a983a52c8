// The xDS client engine: subscribes to an ADS server (SotW or delta) and ACKs/NACKs per type handler.
export { Backoff, DEFAULT_BACKOFF } from "./backoff.ts";
export { resourceName } from "./decode.ts";
export { FULL_STATE_TYPES, WILDCARD_TYPES } from "./type-state.ts";
export type {
  ApplyResult,
  BackoffOptions,
  Protocol,
  ResourceUpdate,
  TypeHandler,
  TypeStatus,
  WatchOptions,
  XdsClientEvents,
  XdsClientOptions,
  XdsClientStatus,
} from "./types.ts";
export { XdsClient } from "./xds-client.ts";
