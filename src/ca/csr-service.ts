// Istio's CSR API, istio.v1.auth.IstioCertificateService/CreateCertificate, on a grpc-js server:
// authenticate the caller (a bearer token, through an injected authenticator), refuse
// impersonation, sign the CSR for the caller's own identity, and answer with the chain — one PEM
// certificate per element, leaf first, root last — the way istiod answers.
import * as grpc from "@grpc/grpc-js";
import { isCremaError } from "../base/errors.ts";
import type { Logger } from "../base/logger.ts";
import type { BootstrapTokenVerification } from "./bootstrap-token.ts";
import type { CaBundle } from "./ca-bundle.ts";
import { type CsrMonitor, caErrorType } from "./csr-monitor.ts";
import {
  type IstioCertificateRequestMessage,
  type IstioCertificateResponseMessage,
  loadIstioCertificateService,
} from "./istio-certificate-service.ts";
import { type SignCsrOptions, signCsr } from "./sign-csr.ts";
import type { CallerIdentity } from "./spiffe.ts";

/** Istio's metadata key for a node agent asking on behalf of another identity. */
export const IMPERSONATED_IDENTITY_KEY = "ImpersonatedIdentity";

export type AuthenticationResult =
  | { ok: true; caller: CallerIdentity }
  | { ok: false; reason: string };

/**
 * Proves who is calling from the call's metadata. Bootstrap tokens today
 * (bearerTokenAuthenticator); a Kubernetes TokenReview authenticator plugs in the same way.
 */
export type Authenticate = (
  metadata: grpc.Metadata,
) => AuthenticationResult | Promise<AuthenticationResult>;

/** The token of an `authorization: Bearer <token>` header, if there is one. */
export function bearerToken(metadata: grpc.Metadata): string | undefined {
  for (const value of metadata.get("authorization")) {
    const text = String(value);
    if (/^Bearer /i.test(text)) return text.slice("Bearer ".length).trim();
  }
  return undefined;
}

/** Authenticates with the bearer token, checked by `verify` (e.g. verifyBootstrapToken). */
export function bearerTokenAuthenticator(
  verify: (token: string) => Promise<BootstrapTokenVerification>,
): Authenticate {
  return async (metadata) => {
    const token = bearerToken(metadata);
    if (token === undefined)
      return { ok: false, reason: "no bearer token in the authorization metadata" };
    const verified = await verify(token);
    return verified.ok ? { ok: true, caller: verified.identity } : verified;
  };
}

export interface CsrServiceOptions extends SignCsrOptions {
  /** Read at each call, so a rotated root is used as soon as it exists. */
  ca: { readonly bundle: CaBundle };
  authenticate: Authenticate;
  logger?: Logger;
  monitor?: CsrMonitor;
}

interface Refusal {
  code: grpc.status;
  details: string;
}

/** The one place CA errors become gRPC statuses, with Istio's codes. */
export function statusForError(error: unknown): Refusal {
  if (isCremaError(error)) {
    switch (error.code) {
      case "CREMA_CA_UNAUTHENTICATED":
      case "CREMA_CA_IDENTITY_MISMATCH":
        return {
          code: grpc.status.UNAUTHENTICATED,
          details: `request authenticate failure: ${error.message}`,
        };
      case "CREMA_CA_INVALID_CSR":
      case "CREMA_CA_TTL_TOO_LONG":
      case "CREMA_CA_INVALID_IDENTITY":
        return {
          code: grpc.status.INVALID_ARGUMENT,
          details: `CSR signing error (${error.message})`,
        };
      case "CREMA_CA_NOT_READY":
        return { code: grpc.status.INTERNAL, details: `CSR signing error (${error.message})` };
      default:
        break;
    }
  }
  return { code: grpc.status.INTERNAL, details: "CSR signing error (internal error)" };
}

function impersonates(request: IstioCertificateRequestMessage): boolean {
  const value = request.metadata?.fields?.[IMPERSONATED_IDENTITY_KEY]?.stringValue;
  return typeof value === "string" && value !== "";
}

function requestedTtlMs(seconds: unknown): number | undefined {
  const value = Number(seconds);
  return Number.isFinite(value) && value > 0 ? value * 1000 : undefined;
}

/** The leaf, intermediates, the other trusted roots, and last the root that issued the leaf. */
function responseChain(certChain: string[], bundle: string[]): string[] {
  return [...certChain.slice(0, -1), ...bundle.slice(1), certChain.at(-1)!];
}

type Outcome =
  | { ok: true; response: IstioCertificateResponseMessage; identity: string }
  | { ok: false; refusal: Refusal };

function refuse(code: grpc.status, details: string): Outcome {
  return { ok: false, refusal: { code, details } };
}

async function createCertificate(
  options: CsrServiceOptions,
  call: grpc.ServerUnaryCall<IstioCertificateRequestMessage, IstioCertificateResponseMessage>,
): Promise<Outcome> {
  const monitor = options.monitor;
  monitor?.csr();
  let authenticated: AuthenticationResult;
  try {
    authenticated = await options.authenticate(call.metadata);
  } catch (error) {
    options.logger?.warn({ err: error }, "CA: the authenticator failed");
    authenticated = { ok: false, reason: "the credentials could not be checked" };
  }
  if (!authenticated.ok) {
    monitor?.authenticationFailure();
    return refuse(
      grpc.status.UNAUTHENTICATED,
      `request authenticate failure: ${authenticated.reason}`,
    );
  }
  const request = call.request;
  if (impersonates(request)) {
    monitor?.authenticationFailure();
    return refuse(
      grpc.status.UNAUTHENTICATED,
      "request impersonation authentication failure: crema's CA does not allow impersonation",
    );
  }
  if (typeof request.csr !== "string" || request.csr.trim() === "") {
    monitor?.csrParsingError();
    return refuse(grpc.status.INVALID_ARGUMENT, "CSR signing error (the request has no csr)");
  }
  try {
    const signed = await signCsr(
      options.ca.bundle,
      {
        csrPem: request.csr,
        caller: authenticated.caller,
        ttlMs: requestedTtlMs(request.validity_duration),
      },
      options,
    );
    const response = { cert_chain: responseChain(signed.certChain, signed.trustBundle) };
    monitor?.success();
    return { ok: true, response, identity: signed.identity };
  } catch (error) {
    if (!isCremaError(error)) options.logger?.error({ err: error }, "CA: signing failed");
    if (isCremaError(error) && error.code === "CREMA_CA_INVALID_CSR") monitor?.csrParsingError();
    // An identity the caller may not have is an authentication failure, as in istiod.
    if (isCremaError(error) && error.code === "CREMA_CA_IDENTITY_MISMATCH")
      monitor?.authenticationFailure();
    else monitor?.signError(caErrorType(error));
    return { ok: false, refusal: statusForError(error) };
  }
}

export function istioCertificateServiceImplementation(
  options: CsrServiceOptions,
): grpc.UntypedServiceImplementation {
  const handler: grpc.handleUnaryCall<
    IstioCertificateRequestMessage,
    IstioCertificateResponseMessage
  > = (call, callback) => {
    createCertificate(options, call)
      .catch((error: unknown): Outcome => {
        options.logger?.error({ err: error }, "CA: CreateCertificate failed");
        return { ok: false, refusal: statusForError(error) };
      })
      .then((outcome) => {
        if (outcome.ok) {
          options.logger?.debug({ identity: outcome.identity, peer: call.getPeer() }, "CA: signed");
          callback(null, outcome.response);
        } else {
          options.logger?.warn(
            { peer: call.getPeer(), code: outcome.refusal.code, reason: outcome.refusal.details },
            "CA: CreateCertificate refused",
          );
          callback(outcome.refusal);
        }
      });
  };
  return { CreateCertificate: handler };
}

/** Adds istio.v1.auth.IstioCertificateService to a server (crema serves it on 15012 over TLS). */
export function addIstioCertificateService(server: grpc.Server, options: CsrServiceOptions): void {
  server.addService(loadIstioCertificateService(), istioCertificateServiceImplementation(options));
}
