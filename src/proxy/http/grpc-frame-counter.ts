// Counts the length-prefixed messages of one direction of a gRPC stream as its body streams
// through (Envoy's Grpc::FrameInspector, as the grpc_stats filter uses it): each message is a
// 5-byte prefix — one flag byte, then the payload length as 4 bytes big-endian — and the payload.
// Bodies arrive in arbitrary chunks, so the state carries over between calls; a chunk is only
// read, never copied or kept, and a payload is skipped by arithmetic, so the work per chunk grows
// with the messages that start in it, not with its bytes.

/** The prefix's length: flag byte plus 4 length bytes. */
const PREFIX_BYTES = 5;

export class GrpcFrameCounter {
  /**
   * Messages seen. As in Envoy, a message counts from its flag byte on: one cut short by the end
   * of the stream still counts.
   */
  count = 0;
  /** Prefix bytes of the current message read so far; 0 between messages or in a payload. */
  private prefixRead = 0;
  private length = 0;
  /** Payload bytes of the current message still to skip. */
  private payloadLeft = 0;

  /** Reads one chunk of the body; returns how many messages started in it. */
  inspect(chunk: Uint8Array): number {
    const end = chunk.length;
    let i = 0;
    let started = 0;
    while (i < end) {
      const left = this.payloadLeft;
      if (left > 0) {
        const available = end - i;
        if (available <= left) {
          this.payloadLeft = left - available;
          break;
        }
        this.payloadLeft = 0;
        i += left;
        continue;
      }
      const read = this.prefixRead;
      if (read === 0) {
        started++;
        this.length = 0;
        this.prefixRead = 1;
        i++;
        continue;
      }
      // Multiplying keeps lengths of 2^31 and more positive (a shift would go negative).
      this.length = this.length * 256 + chunk[i]!;
      i++;
      if (read + 1 === PREFIX_BYTES) {
        this.prefixRead = 0;
        this.payloadLeft = this.length;
      } else this.prefixRead = read + 1;
    }
    this.count += started;
    return started;
  }
}
