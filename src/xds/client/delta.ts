// Incremental ADS (DeltaAggregatedResources) from the client side: subscription diffs, per-resource versions.
import { status as Status } from "@grpc/grpc-js";
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse } from "../discovery-messages.ts";
import { decodeResources, nackMessage } from "./decode.ts";
import { AdsStream } from "./stream.ts";
import type { TypeState } from "./type-state.ts";

/**
 * A type's first request on a stream subscribes to its names (none for a wildcard type: the
 * legacy wildcard) and lists the resources already accepted with their versions
 * (initial_resource_versions), so a reconnect only transfers what changed. Later requests carry
 * subscribe/unsubscribe differences. A response is answered with its nonce: ACK, or NACK with
 * error_detail INVALID_ARGUMENT; the answer also carries any pending subscription change.
 * Requests that only change the subscription carry no nonce (they answer nothing).
 * Resource entries without a body (TTL heartbeats) change nothing.
 */
export class DeltaStream extends AdsStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> {
  /** Names the server holds as this stream's subscription, per type. */
  readonly #subscribed = new Map<string, Set<string>>();

  receive(response: DeltaDiscoveryResponse): void {
    const state = this.watchedType(response.type_url, response.nonce);
    if (!state) return;
    const version = response.system_version_info;
    const entries = response.resources.filter((r) => r.resource);
    if (entries.length < response.resources.length)
      this.ctx.logger.debug(
        { typeUrl: state.typeUrl, count: response.resources.length - entries.length },
        "xDS resources without a body (heartbeats) skipped",
      );
    const decoded = decodeResources(
      state.typeUrl,
      entries.map((r) => ({ any: r.resource, name: r.name, version: r.version })),
    );
    const facts = { version, removed: response.removed_resources, full: false };
    const errors = state.settle(decoded, facts, this.ctx.now());
    const request = this.#diff(state, response.nonce);
    if (errors.length > 0)
      request.error_detail = { code: Status.INVALID_ARGUMENT, message: nackMessage(errors) };
    this.send(state, request);
    this.ctx.settled(state, version, errors);
  }

  protected initialRequest(state: TypeState): DeltaDiscoveryRequest {
    const names = [...state.names].sort();
    this.#subscribed.set(state.typeUrl, new Set(names));
    const initial: Record<string, string> = {};
    for (const [name, version] of [...state.accepted].sort(([a], [b]) => (a < b ? -1 : 1)))
      initial[name] = version;
    return {
      type_url: state.typeUrl,
      resource_names_subscribe: state.wildcard ? [] : names,
      resource_names_unsubscribe: [],
      initial_resource_versions: initial,
      response_nonce: "",
    };
  }

  protected changeRequest(state: TypeState): DeltaDiscoveryRequest | undefined {
    const request = this.#diff(state, "");
    const changed =
      request.resource_names_subscribe.length > 0 || request.resource_names_unsubscribe.length > 0;
    return changed ? request : undefined;
  }

  /** A request with `nonce` carrying the subscription changes not yet sent. */
  #diff(state: TypeState, nonce: string): DeltaDiscoveryRequest {
    const sent = this.#subscribed.get(state.typeUrl) ?? new Set<string>();
    this.#subscribed.set(state.typeUrl, sent);
    const subscribe = state.wildcard ? [] : [...state.names].filter((n) => !sent.has(n)).sort();
    const unsubscribe = [...sent].filter((n) => !state.names.has(n)).sort();
    for (const name of subscribe) sent.add(name);
    for (const name of unsubscribe) sent.delete(name);
    return {
      type_url: state.typeUrl,
      resource_names_subscribe: subscribe,
      resource_names_unsubscribe: unsubscribe,
      initial_resource_versions: {},
      response_nonce: nonce,
    };
  }
}
