// One gRPC ADS stream's lifecycle: validate requests, connect on the first, end with a status.
import { type ServerDuplexStream, status as Status } from "@grpc/grpc-js";
import { describeError } from "../../base/errors.ts";
import type { Logger } from "../../base/logger.ts";
import type { JsonObject } from "../proto-json.ts";
import type { Connection } from "./connection.ts";

/** A well-formed type URL: type.googleapis.com/ and a protobuf message's full name. */
const TYPE_URL = /^type\.googleapis\.com\/[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$/;

export interface AdsRequestLike {
  type_url: string;
  node?: JsonObject;
}

export type Connector<Req, Res> = (
  node: JsonObject | undefined,
  stream: ServerDuplexStream<Req, Res>,
) => Connection<Req, Res> | { code: Status; reason: string };

/** What a stream tells its server: it connected, it ended. */
export interface StreamHooks<Req extends AdsRequestLike, Res> {
  connect: Connector<Req, Res>;
  closed(stream: AdsStream<Req, Res>): void;
}

export class AdsStream<Req extends AdsRequestLike, Res> {
  connection: Connection<Req, Res> | undefined;
  /** Settles once the stream is over, whichever side ended it. */
  readonly done: Promise<void>;
  readonly #call: ServerDuplexStream<Req, Res>;
  readonly #hooks: StreamHooks<Req, Res>;
  readonly #logger: Logger;
  #ended = false;
  #detached = false;
  #ownStatus: { code: Status; details: string } | undefined;
  #resolveDone!: () => void;

  constructor(call: ServerDuplexStream<Req, Res>, hooks: StreamHooks<Req, Res>, logger: Logger) {
    this.#call = call;
    this.#hooks = hooks;
    this.#logger = logger;
    this.done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
    call.on("data", (request: Req) => this.#onRequest(request));
    call.on("end", () => this.end(Status.OK, "stream closed by the client"));
    call.on("error", (error: unknown) => {
      if (error === this.#ownStatus) return; // our end(); 'finish' follows once it is sent
      this.#logger.debug({ err: error }, `ADS stream error: ${describeError(error)}`);
      this.#settle();
    });
    for (const event of ["cancelled", "finish", "close"]) call.on(event, () => this.#settle());
  }

  /** Ends the stream with `code` (OK, or an error status with `details`). */
  end(code: Status, details: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#detach();
    try {
      if (code === Status.OK) this.#call.end();
      else {
        this.#ownStatus = { code, details };
        this.#call.emit("error", this.#ownStatus);
      }
    } catch (error) {
      this.#logger.debug({ err: error }, "ending an ADS stream failed");
      this.#settle();
    }
    if (this.#call.cancelled || this.#call.destroyed) this.#settle();
  }

  #onRequest(request: Req): void {
    if (this.#ended) return;
    try {
      const typeUrl = request.type_url;
      if (!TYPE_URL.test(typeUrl)) {
        this.end(Status.INVALID_ARGUMENT, `invalid type_url ${JSON.stringify(typeUrl)}`);
        return;
      }
      if (!this.connection) {
        const connected = this.#hooks.connect(request.node, this.#call);
        if ("reason" in connected) {
          this.end(connected.code, connected.reason);
          return;
        }
        this.connection = connected;
      }
      this.connection.handle(request);
    } catch (error) {
      this.#logger.error({ err: error }, `ADS request failed: ${describeError(error)}`);
      this.end(Status.INTERNAL, "internal error handling the request");
    }
  }

  /** The stream no longer counts as a connection (it may still be sending its status). */
  #detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    this.#ended = true;
    this.connection?.close();
    this.#hooks.closed(this);
  }

  #settle(): void {
    this.#detach();
    this.#resolveDone();
  }
}
