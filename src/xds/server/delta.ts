// Incremental ADS (DeltaAggregatedResources): only changed resources, plus the names removed.
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse } from "../discovery-messages.ts";
import { shortTypeName } from "../type-urls.ts";
import { Connection, type TypeState } from "./connection.ts";
import { byteSize, type Selection } from "./encoding.ts";
import type { Subscription } from "./subscription.ts";

interface DeltaState extends TypeState {
  /** What the client holds as far as the server knows: name → version (hash of its bytes). */
  readonly known: Map<string, string>;
  /** Names just subscribed: if the source lacks them, the next response says so (removed). */
  readonly requested: Set<string>;
  /** The selection the last sync was computed from: the same one again, with nothing newly
   * requested, changes nothing the client holds. */
  lastSelection?: Selection;
}

/**
 * A request whose nonce is the last one sent for the type is an ACK, or a NACK with
 * error_detail. Unlike SotW, a request with a stale nonce is not dropped: delta requests carry
 * subscription changes, which are applied whatever the nonce (it is just not an answer).
 * After a NACK the server keeps believing the client holds what it rejected, so the same
 * version is not resent; the next change to a resource sends it again.
 * Unsubscribed names are forgotten silently (the client already dropped them); resources that
 * left the source, or the wildcard set, are sent in removed_resources.
 */
export class DeltaConnection extends Connection<
  DeltaDiscoveryRequest,
  DeltaDiscoveryResponse,
  DeltaState
> {
  readonly protocol = "delta";

  protected newState(typeUrl: string, subscription: Subscription): DeltaState {
    return { typeUrl, subscription, failing: new Map(), known: new Map(), requested: new Set() };
  }

  handle(request: DeltaDiscoveryRequest): void {
    const { state, created } = this.stateFor(request.type_url);
    const nonce = request.response_nonce;
    const sentNonce = state.lastSent?.nonce;
    if (sentNonce !== undefined && nonce === sentNonce)
      this.recordAnswer(state, request.error_detail);
    else if (nonce !== "" && sentNonce !== undefined)
      this.log.debug(
        { typeUrl: state.typeUrl, nonce, current: sentNonce },
        `stale nonce on ${shortTypeName(state.typeUrl)} delta request: not an ACK/NACK`,
      );
    if (created) {
      // A reconnecting client says what it already has; only differences are sent.
      for (const [name, version] of Object.entries(request.initial_resource_versions ?? {}))
        state.known.set(name, version);
    }
    const subscription = state.subscription;
    const { added, removed } = subscription.apply(
      request.resource_names_subscribe,
      request.resource_names_unsubscribe,
      created,
    );
    for (const name of added) {
      // Subscribing again to a name the client was sent means it wants it again.
      if (!created) state.known.delete(name);
      state.requested.add(name);
    }
    for (const name of removed) state.requested.delete(name);
    for (const name of state.known.keys()) if (!subscription.covers(name)) state.known.delete(name);
    this.sync(state.typeUrl, created);
  }

  protected syncType(state: DeltaState, force: boolean): void {
    const subscription = state.subscription;
    if (subscription.empty) {
      state.requested.clear();
      state.failing.clear();
      delete state.lastSelection;
      return;
    }
    const set = this.resourcesOf(state);
    const selection = this.encodeSubscribed(state, set, (name) => state.known.has(name));
    if (!force && selection === state.lastSelection && state.requested.size === 0) return;
    state.lastSelection = selection;
    const { encoded, failed } = selection;
    // A resource that fails to encode is neither updated nor removed: the client keeps what it
    // has (or, never sent, keeps waiting for it) rather than losing it to a control-plane bug.
    const present = new Set([...encoded.list, ...failed].map((r) => r.name));
    const changed = encoded.list.filter((r) => state.known.get(r.name) !== r.hash);
    const removed = new Set<string>();
    for (const name of state.known.keys()) if (!present.has(name)) removed.add(name);
    for (const name of state.requested) if (!present.has(name)) removed.add(name);
    state.requested.clear();
    if (!force && changed.length === 0 && removed.size === 0) return;
    for (const r of changed) state.known.set(r.name, r.hash);
    for (const name of removed) state.known.delete(name);
    const nonce = this.ctx.nextNonce();
    const response: DeltaDiscoveryResponse = {
      system_version_info: set.version,
      resources: changed.map((r) => ({ name: r.name, version: r.hash, resource: r.any })),
      type_url: state.typeUrl,
      removed_resources: [...removed].sort(),
      nonce,
    };
    this.send(state, response, {
      version: set.version,
      nonce,
      resources: changed.length,
      removed: removed.size,
      bytes: byteSize(changed),
    });
  }
}
