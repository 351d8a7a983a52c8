// RDS for the proxy: route tables compiled once per update, swapped atomically, the replaced ones
// released (their RE2 regexes are freed only explicitly). All-or-nothing per update, as the xDS
// client expects.
import type { ApplyResult, ResourceUpdate, TypeHandler } from "../../xds/client/types.ts";
import { decodeRouteConfiguration, releaseRouteConfiguration } from "../routing/index.ts";
import type { CompiledRouteConfig } from "../routing/types.ts";

export class RouteStore {
  private readonly tables = new Map<string, CompiledRouteConfig>();
  private readonly listeners = new Set<() => void>();

  handler(): TypeHandler {
    return { apply: (update) => this.apply(update) };
  }

  get(name: string): CompiledRouteConfig | undefined {
    return this.tables.get(name);
  }

  has(name: string): boolean {
    return this.tables.has(name);
  }

  names(): string[] {
    return [...this.tables.keys()].sort();
  }

  /** Called after every accepted update (listener warming waits on route tables). */
  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  close(): void {
    for (const table of this.tables.values()) releaseRouteConfiguration(table);
    this.tables.clear();
  }

  private apply(update: ResourceUpdate): ApplyResult {
    const errors: string[] = [];
    const compiled = new Map<string, CompiledRouteConfig>();
    for (const [name, json] of update.added) {
      const result = decodeRouteConfiguration(json);
      if (result.ok) compiled.set(name, result.value);
      else errors.push(...result.errors.map((e) => `${name}: ${e}`));
    }
    if (errors.length > 0) {
      for (const table of compiled.values()) releaseRouteConfiguration(table);
      return { errors };
    }
    const replaced: CompiledRouteConfig[] = [];
    const removed = new Set(update.removed);
    if (update.full)
      for (const name of this.tables.keys()) if (!update.added.has(name)) removed.add(name);
    for (const name of removed) {
      const old = this.tables.get(name);
      if (old) replaced.push(old);
      this.tables.delete(name);
    }
    for (const [name, table] of compiled) {
      const old = this.tables.get(name);
      if (old) replaced.push(old);
      this.tables.set(name, table);
    }
    // Requests already routed may still read a replaced table's rewrites in this tick.
    if (replaced.length > 0)
      setImmediate(() => {
        for (const table of replaced) releaseRouteConfiguration(table);
      });
    for (const listener of this.listeners) listener();
    return { errors: [] };
  }
}
