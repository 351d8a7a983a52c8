// State-of-the-world ADS (StreamAggregatedResources) from the client side: full name lists, versions.
import { status as Status } from "@grpc/grpc-js";
import type { DiscoveryRequest, DiscoveryResponse } from "../discovery-messages.ts";
import { decodeResources, nackMessage } from "./decode.ts";
import { AdsStream } from "./stream.ts";
import { FULL_STATE_TYPES, type TypeState } from "./type-state.ts";

/**
 * Every request carries the type's full list of names (none for a wildcard type: the legacy
 * wildcard), the last accepted version_info and the last nonce received for the type.
 * An answer to a response is an ACK (the response's version) or a NACK (the previous accepted
 * version and error_detail INVALID_ARGUMENT with every error). For Listener and Cluster a
 * response is the complete set, so a resource missing from it is removed; for other types a
 * response only says what it contains (removal there is the client dropping the name).
 */
export class SotwStream extends AdsStream<DiscoveryRequest, DiscoveryResponse> {
  /** The names last sent per type, to skip changes that cancel out before they are sent. */
  readonly #sentNames = new Map<string, string>();

  receive(response: DiscoveryResponse): void {
    const state = this.watchedType(response.type_url, response.nonce);
    if (!state) return;
    const version = response.version_info;
    const decoded = decodeResources(
      state.typeUrl,
      response.resources.map((any) => ({ any, version })),
    );
    const full = FULL_STATE_TYPES.has(state.typeUrl);
    const errors = state.settle(decoded, { version, removed: [], full }, this.ctx.now());
    this.send(state, this.#request(state, errors));
    this.ctx.settled(state, version, errors);
  }

  protected initialRequest(state: TypeState): DiscoveryRequest {
    return this.#request(state, []);
  }

  protected changeRequest(state: TypeState): DiscoveryRequest | undefined {
    const names = state.wildcard ? "" : [...state.names].sort().join("\n");
    if (this.#sentNames.get(state.typeUrl) === names) return undefined;
    return this.#request(state, []);
  }

  #request(state: TypeState, errors: readonly string[]): DiscoveryRequest {
    const request: DiscoveryRequest = {
      version_info: state.version,
      resource_names: state.wildcard ? [] : [...state.names].sort(),
      type_url: state.typeUrl,
      response_nonce: state.nonce,
    };
    if (errors.length > 0)
      request.error_detail = { code: Status.INVALID_ARGUMENT, message: nackMessage(errors) };
    this.#sentNames.set(state.typeUrl, request.resource_names.join("\n"));
    return request;
  }
}
