// The control plane's configuration: resources read from files and directories (watched),
// plus resources applied or deleted at run time. Every change is validated with the same
// rules as `crema validate`; an invalid change is rejected whole, with its diagnostics, and
// the last good configuration keeps serving.
import { type FSWatcher, watch } from "node:fs";
import type { Clock, TimerHandle } from "../base/clock.ts";
import type { Logger } from "../base/logger.ts";
import type { Diagnostic } from "../config/diagnostic.ts";
import { renderDiagnostics } from "../config/format-diagnostics.ts";
import { type Resource, resourceKey } from "../config/resource.ts";
import { readSources, type SourceFile } from "../config/source-file.ts";
import { validateSources, validateValues } from "../config/validate.ts";

export interface ConfigState {
  /** Increments with every accepted change. */
  generation: number;
  resources: readonly Resource[];
}

export interface ChangeOutcome {
  accepted: boolean;
  /** Every finding of the attempted change (errors reject it; warnings do not). */
  diagnostics: readonly Diagnostic[];
  /** The findings as `crema validate` prints them. */
  report: string;
  /** Resources added, changed or removed by the change (keys `Kind/namespace/name`). */
  changed: readonly string[];
}

/** The paths' files as already read and validated (with the store's default namespace). */
export interface ValidatedSources {
  files: readonly SourceFile[];
  resources: readonly Resource[];
  /** Findings of reading and of validating. */
  diagnostics: readonly Diagnostic[];
}

export interface ConfigStoreOptions {
  paths: readonly string[];
  /** The paths' first reading, when the caller has just read and validated them itself (the
   * local runtime validates its manifests before it starts anything). */
  initial?: ValidatedSources;
  defaultNamespace?: string;
  logger: Logger;
  clock: Clock;
  /** Watch the paths and reload on change (default true). */
  watch?: boolean;
  /**
   * Further checks of applied resources beyond `crema validate`'s (the local runtime refuses
   * manifests it cannot run); its errors reject the change like validation errors.
   */
  admit?: (resources: readonly Resource[]) => readonly Diagnostic[];
}

export interface ConfigStore {
  current(): ConfigState;
  /** Re-reads the configured paths. */
  reload(): Promise<ChangeOutcome>;
  /** Adds or replaces resources given as YAML/JSON text (like `kubectl apply -f`). */
  apply(text: string, source?: string): ChangeOutcome;
  /**
   * Adds or replaces resources given as JSON values (what JSON.parse returns), validated as
   * `apply` validates text: for resources a program builds, which need no YAML parsing.
   */
  applyValues(values: readonly unknown[], source: string): ChangeOutcome;
  /** Removes the resources named in YAML/JSON text (like `kubectl delete -f`). */
  delete(text: string, source?: string): ChangeOutcome;
  onChange(listener: (state: ConfigState, changed: readonly string[]) => void): () => void;
  onRejected(listener: (outcome: ChangeOutcome) => void): () => void;
  close(): void;
}

const hasErrors = (diagnostics: readonly Diagnostic[]) =>
  diagnostics.some((d) => d.severity === "error");

export async function createConfigStore(options: ConfigStoreOptions): Promise<ConfigStore> {
  const { logger, clock } = options;
  const defaultNamespace = options.defaultNamespace ?? "default";
  let fileResources = new Map<string, Resource>();
  const applied = new Map<string, Resource>();
  const deleted = new Set<string>();
  let state: ConfigState = { generation: 0, resources: [] };
  const changeListeners = new Set<(state: ConfigState, changed: readonly string[]) => void>();
  const rejectListeners = new Set<(outcome: ChangeOutcome) => void>();
  const watchers: FSWatcher[] = [];
  let reloadTimer: TimerHandle | undefined;
  let closed = false;

  const effective = (): Map<string, Resource> => {
    const out = new Map<string, Resource>();
    for (const [key, resource] of fileResources) if (!deleted.has(key)) out.set(key, resource);
    for (const [key, resource] of applied) out.set(key, resource);
    return out;
  };

  /** Publishes the effective config if it changed; `touched` limits the comparison to those keys. */
  const commit = (before: Map<string, Resource>, touched?: Iterable<string>): string[] => {
    const after = effective();
    const candidates = touched ? new Set(touched) : new Set([...before.keys(), ...after.keys()]);
    const changed = [...candidates]
      .filter(
        (key) => JSON.stringify(before.get(key)?.body) !== JSON.stringify(after.get(key)?.body),
      )
      .sort();
    if (changed.length === 0) return changed;
    state = { generation: state.generation + 1, resources: [...after.values()] };
    for (const listener of changeListeners) listener(state, changed);
    return changed;
  };

  const outcome = (
    accepted: boolean,
    diagnostics: readonly Diagnostic[],
    sources: readonly SourceFile[],
    changed: string[],
  ): ChangeOutcome => {
    const result = {
      accepted,
      diagnostics,
      report: renderDiagnostics(diagnostics, "text", new Map(sources.map((s) => [s.path, s.text]))),
      changed,
    };
    if (!accepted) {
      logger.warn(
        { errors: diagnostics.filter((d) => d.severity === "error").length },
        `configuration change rejected; the last good configuration keeps serving\n${result.report}`,
      );
      for (const listener of rejectListeners) listener(result);
    }
    return result;
  };

  const validateText = (text: string, source: string) => {
    const files = [{ path: source, text }];
    return { files, ...validateSources(files, { defaultNamespace }) };
  };

  const applyValidated = ({ files, resources, ...validated }: ValidatedSources): ChangeOutcome => {
    const diagnostics = hasErrors(validated.diagnostics)
      ? validated.diagnostics
      : [...validated.diagnostics, ...(options.admit?.(resources) ?? [])];
    if (hasErrors(diagnostics)) return outcome(false, diagnostics, files, []);
    const before = effective();
    const keys = resources.map(resourceKey);
    resources.forEach((resource, i) => {
      applied.set(keys[i]!, resource);
      deleted.delete(keys[i]!);
    });
    return outcome(true, diagnostics, files, commit(before, keys));
  };

  const load = ({ files, resources, diagnostics }: ValidatedSources): ChangeOutcome => {
    if (hasErrors(diagnostics)) return outcome(false, diagnostics, files, []);
    const before = effective();
    fileResources = new Map(resources.map((r) => [resourceKey(r), r]));
    return outcome(true, diagnostics, files, commit(before));
  };

  const store: ConfigStore = {
    current: () => state,
    async reload() {
      const read = await readSources(options.paths, async () => "");
      const validated = validateSources(read.files, { defaultNamespace });
      return load({
        files: read.files,
        resources: validated.resources,
        diagnostics: [...read.diagnostics, ...validated.diagnostics],
      });
    },
    apply(text, source = "<apply>") {
      return applyValidated(validateText(text, source));
    },
    applyValues(values, source) {
      // No text: diagnostics point at the document by number, under the source's name.
      const files = [{ path: source, text: "" }];
      return applyValidated({ files, ...validateValues(values, source, { defaultNamespace }) });
    },
    delete(text, source = "<delete>") {
      const { files, resources, diagnostics } = validateText(text, source);
      const blocking = diagnostics.filter(
        (d) =>
          d.severity === "error" &&
          !d.code.startsWith("CREMA_SCHEMA") &&
          !d.code.startsWith("CREMA_VALIDATION"),
      );
      if (blocking.length > 0) return outcome(false, blocking, files, []);
      const before = effective();
      const keys = resources.map(resourceKey);
      for (const key of keys) {
        applied.delete(key);
        if (fileResources.has(key)) deleted.add(key);
      }
      return outcome(true, [], files, commit(before, keys));
    },
    onChange(listener) {
      changeListeners.add(listener);
      return () => changeListeners.delete(listener);
    },
    onRejected(listener) {
      rejectListeners.add(listener);
      return () => rejectListeners.delete(listener);
    },
    close() {
      closed = true;
      for (const watcher of watchers) watcher.close();
      if (reloadTimer) clock.clearTimeout(reloadTimer);
    },
  };

  const initial = options.initial ? load(options.initial) : await store.reload();
  if (!initial.accepted)
    logger.error(
      "initial configuration is invalid; serving an empty configuration until it is fixed",
    );

  if (options.watch !== false) {
    // Editors write files in several steps; reload once things settle.
    const scheduleReload = () => {
      if (closed) return;
      if (reloadTimer) clock.clearTimeout(reloadTimer);
      reloadTimer = clock.setTimeout(() => {
        reloadTimer = undefined;
        store
          .reload()
          .catch((error: unknown) =>
            logger.error({ err: error }, "reloading configuration failed"),
          );
      }, 50);
    };
    for (const path of options.paths) {
      if (path === "-") continue;
      try {
        const watcher = watch(path, { recursive: true }, scheduleReload);
        watcher.on("error", (error) =>
          logger.warn({ err: error, path }, "cannot watch configuration path"),
        );
        watchers.push(watcher);
      } catch (error) {
        logger.warn({ err: error, path }, "cannot watch configuration path");
      }
    }
  }
  return store;
}
