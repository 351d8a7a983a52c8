// The ADS protocol engine: serves a ResourceSource's resources to xDS clients (SotW and delta).
export { AdsServer } from "./ads-server.ts";
export { WILDCARD } from "./subscription.ts";
export type {
  AdsEvent,
  AdsServerOptions,
  AnswerStatus,
  ConnectionStatus,
  ConnectResult,
  Protocol,
  ResourceSource,
  SentStatus,
  SubscriptionView,
  TypeStatus,
  XdsResourceSet,
} from "./types.ts";
