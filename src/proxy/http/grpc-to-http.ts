// Envoy's Grpc::Utility::grpcToHttpStatus: the HTTP status a gRPC status counts as, so outlier
// detection sees a gRPC UNAVAILABLE as a 503 although the response's :status is 200.

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

/** Envoy's Grpc::Common::getGrpcStatus: a grpc-status header that parses, else undefined. */
export function grpcStatusOf(
  headers: Readonly<Record<string, string | string[] | undefined>> | undefined,
): number | undefined {
  const raw = headers?.["grpc-status"];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}
