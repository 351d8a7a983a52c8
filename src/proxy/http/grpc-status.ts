// gRPC status codes at the HTTP boundary, as Envoy's Grpc::Utility and Grpc::Common map them: the
// HTTP status a gRPC status counts as (outlier detection), the gRPC status a local reply's HTTP
// status becomes (trailers-only replies), and reading grpc-status from a header map.

/**
 * Envoy's Grpc::Utility::grpcToHttpStatus: the HTTP status a gRPC status counts as, so outlier
 * detection sees a gRPC UNAVAILABLE as a 503 although the response's :status is 200.
 */
export function grpcToHttpStatus(grpcStatus: number): number {
  switch (grpcStatus) {
    case 0:
      return 200; // OK
    case 1:
      return 499; // CANCELLED
    case 3: // INVALID_ARGUMENT
    case 9: // FAILED_PRECONDITION
    case 11: // OUT_OF_RANGE
      return 400;
    case 4:
      return 504; // DEADLINE_EXCEEDED
    case 5:
      return 404; // NOT_FOUND
    case 6: // ALREADY_EXISTS
    case 10: // ABORTED
      return 409;
    case 7:
      return 403; // PERMISSION_DENIED
    case 8:
      return 429; // RESOURCE_EXHAUSTED
    case 12:
      return 501; // UNIMPLEMENTED
    case 14:
      return 503; // UNAVAILABLE
    case 16:
      return 401; // UNAUTHENTICATED
    default:
      return 500; // UNKNOWN, INTERNAL, DATA_LOSS and anything unassigned
  }
}

/** Envoy's Grpc::Utility::httpToGrpcStatus (the gRPC spec's HTTP→gRPC mapping). */
export function httpToGrpcStatus(status: number): number {
  switch (status) {
    case 400:
      return 13; // INTERNAL
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14; // UNAVAILABLE
    default:
      return 2; // UNKNOWN
  }
}

/** A grpc-status value: digits only, else undefined. */
export function parseGrpcStatus(value: string | undefined): number | undefined {
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

/** Envoy's Grpc::Common::getGrpcStatus: the first grpc-status header if it parses, else undefined. */
export function grpcStatusOf(
  headers: Readonly<Record<string, string | string[] | undefined>> | undefined,
): number | undefined {
  const raw = headers?.["grpc-status"];
  return parseGrpcStatus(Array.isArray(raw) ? raw[0] : raw);
}
