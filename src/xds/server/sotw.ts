// State-of-the-world ADS (StreamAggregatedResources): every response carries the full subscribed
// set, except EDS pushes for an unchanged subscription, which carry the changed assignments only.
import type { DiscoveryRequest, DiscoveryResponse } from "../discovery-messages.ts";
import type { AnyMessage } from "../resource-codec.ts";
import { shortTypeName, TYPE_URL } from "../type-urls.ts";
import { Connection, type TypeState } from "./connection.ts";
import { byName, byteSize, EMPTY_SET, type EncodedResource, EncodedSet } from "./encoding.ts";
import type { Subscription } from "./subscription.ts";

interface SotwState extends TypeState {
  /** Subscription key and content hash of the last response: unchanged both → nothing to send. */
  sentKey?: string;
  sentHash?: string;
  /** What the last response (or the last unchanged sync) held: a resource that stops encoding
   * is served from here, as the client would otherwise read its absence as removal. */
  sent: EncodedSet;
}

/**
 * Per request: a `response_nonce` other than the last one sent for the type is stale and
 * ignored (the client's next request carries its full names again). A current nonce is an ACK,
 * or a NACK with error_detail; either way the request's names become the subscription. A
 * response goes out when the subscription or the content changed, or to answer the first
 * request for a type (and a request without nonce, which re-asks for everything).
 */
export class SotwConnection extends Connection<DiscoveryRequest, DiscoveryResponse, SotwState> {
  readonly protocol = "sotw";

  protected newState(typeUrl: string, subscription: Subscription): SotwState {
    return { typeUrl, subscription, failing: new Map(), sent: EMPTY_SET };
  }

  handle(request: DiscoveryRequest): void {
    const { state } = this.stateFor(request.type_url);
    const nonce = request.response_nonce;
    const sentNonce = state.lastSent?.nonce;
    let force = sentNonce === undefined; // the first request for this type is always answered
    if (sentNonce !== undefined) {
      if (nonce === sentNonce) this.recordAnswer(state, request.error_detail);
      // No nonce on a running stream: the client re-asks for everything.
      else if (nonce === "") force = true;
      else {
        this.log.debug(
          { typeUrl: state.typeUrl, nonce, current: sentNonce },
          `stale ${shortTypeName(state.typeUrl)} request ignored`,
        );
        return;
      }
    }
    state.subscription.replace(request.resource_names);
    this.sync(state.typeUrl, force);
  }

  protected syncType(state: SotwState, force: boolean): void {
    const subscription = state.subscription;
    if (subscription.empty) {
      // Nothing wanted: no response; a later subscription is compared against this.
      state.sentKey = subscription.key();
      state.sent = EMPTY_SET;
      state.failing.clear();
      return;
    }
    const set = this.resourcesOf(state);
    const { encoded, failed } = this.encodeSubscribed(state, set, (name) => state.sent.has(name));
    // Usually the set shared with every connection selecting the same resources.
    let selected = encoded;
    const kept: EncodedResource[] = [];
    for (const { name } of failed) {
      const previous = state.sent.get(name);
      if (previous) kept.push(previous);
    }
    if (kept.length > 0) selected = new EncodedSet([...encoded.list, ...kept].sort(byName));
    const before = state.sent;
    state.sent = selected;
    const key = subscription.key();
    const hash = selected.hash;
    if (!force && state.sentKey === key && state.sentHash === hash) return;
    // EDS needs no complete set (a missing assignment is unchanged for the client), so a push
    // for the same subscription carries only the assignments that changed — as istiod's
    // incremental EDS pushes do; an endpoint change then costs one assignment, not all.
    const changedOnly =
      !force && state.sentKey === key && state.typeUrl === TYPE_URL.clusterLoadAssignment;
    const payload = changedOnly
      ? selected.list.filter((r) => before.get(r.name)?.hash !== r.hash)
      : selected.list;
    state.sentKey = key;
    state.sentHash = hash;
    if (changedOnly && payload.length === 0) return;
    const nonce = this.ctx.nextNonce();
    const response: DiscoveryResponse = {
      version_info: set.version,
      // The whole set's list is shared and frozen: nothing writes to a response once sent.
      resources: changedOnly ? payload.map((r) => r.any) : (selected.anys as AnyMessage[]),
      type_url: state.typeUrl,
      nonce,
    };
    this.send(state, response, {
      version: set.version,
      nonce,
      resources: payload.length,
      removed: 0,
      bytes: byteSize(payload),
    });
  }
}
