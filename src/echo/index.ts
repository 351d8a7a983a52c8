// Public API of the echo workload: start a server, read its options from the environment.
export {
  ECHO_PROTO_OPTIONS,
  ECHO_PROTO_PATH,
  ECHO_SERVICE_NAME,
  type EchoRequestMessage,
  type EchoResponseMessage,
  type EchoStreamRequestMessage,
  FORCE_STATUS_KEY,
  loadEchoService,
} from "./grpc.ts";
export {
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_HOST,
  DEFAULT_PORT,
  type EchoIdentity,
  type EchoOptions,
  type EchoTlsOptions,
  echoOptionsFromEnv,
  parseDrainTimeout,
  parseLabel,
  parseLabels,
  parsePort,
} from "./options.ts";
export { LIMITS } from "./routes.ts";
export { type EchoServer, type EchoStopOptions, startEchoServer } from "./server.ts";
