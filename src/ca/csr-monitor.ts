// What the CSR API reports about each CreateCertificate call, for Istio's citadel_server_*
// metrics (counted where istiod's CA server counts them). The CA knows nothing of Prometheus:
// the control plane implements this with its metrics registry.
import { isCremaError } from "../base/errors.ts";

export interface CsrMonitor {
  /** Every CreateCertificate call (citadel_server_csr_count). */
  csr(): void;
  /** The caller could not be authenticated (citadel_server_authentication_failure_count). */
  authenticationFailure(): void;
  /** The CSR did not parse (citadel_server_csr_parsing_err_count). */
  csrParsingError(): void;
  /** Signing failed, by Istio's CA error type (citadel_server_csr_sign_err_count{error}). */
  signError(errorType: string): void;
  /** A certificate was issued (citadel_server_success_cert_issuance_count). */
  success(): void;
}

/** Istio's caerror types: CA_NOT_READY, CSR_ERROR, TTL_ERROR, CERT_GEN_ERROR. */
export function caErrorType(error: unknown): string {
  if (isCremaError(error)) {
    switch (error.code) {
      case "CREMA_CA_NOT_READY":
        return "CA_NOT_READY";
      case "CREMA_CA_INVALID_CSR":
      case "CREMA_CA_INVALID_IDENTITY":
        return "CSR_ERROR";
      case "CREMA_CA_TTL_TOO_LONG":
        return "TTL_ERROR";
    }
  }
  return "CERT_GEN_ERROR";
}
