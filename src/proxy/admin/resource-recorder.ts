// Remembers the xDS resources the proxy accepted (per type: name → resource, version, time) and
// the last rejection, by wrapping each type's handler; `/config_dump` is built from this record.
import type { ApplyResult, ResourceUpdate, TypeHandler } from "../../xds/client/types.ts";
import type { JsonObject } from "../../xds/proto-json.ts";

export interface RecordedResource {
  readonly name: string;
  /** As received (proto3 JSON, no "@type"). */
  readonly resource: JsonObject;
  /** The resource's own version (delta) or its response's version_info (SotW). */
  readonly version: string;
  /** When the resource last changed, ISO 8601. */
  readonly lastUpdated: string;
}

export interface Rejection {
  /** The rejected response's version. */
  readonly version: string;
  readonly errors: readonly string[];
  /** ISO 8601. */
  readonly time: string;
  /** The resources the rejected update added or changed, by name. */
  readonly resources: ReadonlyMap<string, JsonObject>;
}

export interface ResourceRecorderOptions {
  /** Epoch milliseconds (default Date.now). */
  now?: () => number;
}

interface TypeRecord {
  readonly resources: Map<string, RecordedResource>;
  version: string;
  rejection: Rejection | undefined;
}

const serialized = (json: JsonObject): string => JSON.stringify(json);

export class ResourceRecorder {
  private readonly now: () => number;
  private readonly types = new Map<string, TypeRecord>();

  constructor(options: ResourceRecorderOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  /** The handler to give the xDS client in place of `handler`: same decisions, recorded. */
  wrap(typeUrl: string, handler: TypeHandler): TypeHandler {
    return {
      apply: (update) => {
        let result: ApplyResult;
        try {
          result = handler.apply(update);
        } catch (error) {
          // The client treats a throw as a rejection with its message; record it the same way.
          this.reject(typeUrl, update, [error instanceof Error ? error.message : String(error)]);
          throw error;
        }
        if (result.errors.length > 0) this.reject(typeUrl, update, result.errors);
        else this.accept(typeUrl, update);
        return result;
      },
    };
  }

  /** Accepted resources of a type, sorted by name. */
  resources(typeUrl: string): RecordedResource[] {
    const record = this.types.get(typeUrl);
    if (!record) return [];
    return [...record.resources.values()].sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
  }

  resource(typeUrl: string, name: string): RecordedResource | undefined {
    return this.types.get(typeUrl)?.resources.get(name);
  }

  /** Version of the last accepted update of a type ("" before any). */
  version(typeUrl: string): string {
    return this.types.get(typeUrl)?.version ?? "";
  }

  /** The last rejected update of a type, until an update of that type is accepted. */
  lastRejection(typeUrl: string): Rejection | undefined {
    return this.types.get(typeUrl)?.rejection;
  }

  private record(typeUrl: string): TypeRecord {
    let record = this.types.get(typeUrl);
    if (!record) {
      record = { resources: new Map(), version: "", rejection: undefined };
      this.types.set(typeUrl, record);
    }
    return record;
  }

  private accept(typeUrl: string, update: ResourceUpdate): void {
    const record = this.record(typeUrl);
    const time = new Date(this.now()).toISOString();
    const { resources } = record;
    for (const name of update.removed) resources.delete(name);
    if (update.full)
      for (const name of [...resources.keys()]) if (!update.added.has(name)) resources.delete(name);
    for (const [name, resource] of update.added) {
      const old = resources.get(name);
      // A full update repeats unchanged resources; like Envoy, they keep their version and time.
      if (old && serialized(old.resource) === serialized(resource)) continue;
      const version = update.versions.get(name) ?? update.version;
      resources.set(name, { name, resource, version, lastUpdated: time });
    }
    // Delta responses may carry no system_version_info; keep the last one known then.
    if (update.version !== "") record.version = update.version;
    record.rejection = undefined;
  }

  private reject(typeUrl: string, update: ResourceUpdate, errors: readonly string[]): void {
    this.record(typeUrl).rejection = {
      version: update.version,
      errors: [...errors],
      time: new Date(this.now()).toISOString(),
      resources: new Map(update.added),
    };
  }
}
