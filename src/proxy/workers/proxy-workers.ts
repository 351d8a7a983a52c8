// The main thread's side of the proxy's worker threads (Envoy's --concurrency): starts them,
// forwards every accepted update in order, says when all of them serve it, relays ejections and
// secrets, and collects their stats for the admin server.
import { Worker } from "node:worker_threads";
import type { Logger } from "../../base/logger.ts";
import type { ResourceUpdate } from "../../xds/client/types.ts";
import type { LoadAssignment } from "../upstream/decode-endpoints.ts";
import type { OutlierResult } from "../upstream/outlier-detector.ts";
import type { FromWorker, ToWorker, WorkerSetup, WorkerTotals } from "./worker-messages.ts";

const WORKER_ENTRY = new URL(
  import.meta.url.endsWith(".ts") ? "./proxy-worker.ts" : "./proxy-worker.js",
  import.meta.url,
);

/** How long close() waits for a worker to close its listeners before terminating it. */
const CLOSE_TIMEOUT_MS = 5_000;

export interface ProxyWorkersOptions {
  /** Worker threads to start (the main thread carries traffic too). */
  count: number;
  setup: Omit<WorkerSetup, "index">;
  logger: Logger;
  /** Outlier results the workers saw, in order: [cluster, host address, result]. */
  onOutlierResults(results: readonly (readonly [string, string, OutlierResult])[]): void;
}

interface WorkerState {
  readonly index: number;
  readonly thread: Worker;
  /** The last forwarded update this worker has applied. */
  applied: number;
  ready: boolean;
  alive: boolean;
}

export class ProxyWorkers {
  private readonly options: ProxyWorkersOptions;
  private readonly workers: WorkerState[] = [];
  private seq = 0;
  /** Waiters for every live worker to have applied `seq`. */
  private caughtUpWaiters: { seq: number; resolve: () => void }[] = [];
  private readyWaiters: (() => void)[] = [];
  private collectId = 0;
  private readonly collecting = new Map<
    number,
    { pending: Set<number>; totals: WorkerTotals[]; resolve: (t: WorkerTotals[]) => void }
  >();
  private closing: Promise<void> | undefined;

  constructor(options: ProxyWorkersOptions) {
    this.options = options;
    for (let index = 1; index <= options.count; index++) this.startWorker(index);
  }

  /** Resolves once every worker has applied a first full configuration (or died). */
  get ready(): Promise<void> {
    if (this.workers.every((w) => w.ready || !w.alive)) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** Hands an update the main thread accepted to every worker. */
  forwardUpdate(
    typeUrl: string,
    update: ResourceUpdate,
    breakerCounts?: ReadonlyMap<string, Int32Array>,
  ): void {
    this.seq++;
    this.broadcast({
      kind: "update",
      seq: this.seq,
      typeUrl,
      update,
      ...(breakerCounts?.size ? { breakerCounts } : {}),
    });
  }

  forwardDns(cluster: string, assignment: LoadAssignment): void {
    this.seq++;
    this.broadcast({ kind: "dns", seq: this.seq, cluster, assignment });
  }

  broadcast(message: ToWorker): void {
    for (const worker of this.workers) if (worker.alive) worker.thread.postMessage(message);
  }

  /**
   * Undefined when every worker serves everything forwarded so far; otherwise resolves once
   * they do. The xDS client holds its ACKs on this, and the admin server its answers.
   */
  caughtUp(): Promise<void> | undefined {
    const seq = this.seq;
    if (this.isCaughtUp(seq)) return undefined;
    return new Promise((resolve) => this.caughtUpWaiters.push({ seq, resolve }));
  }

  /** Every live worker's stats and active requests, after what was forwarded before the call. */
  collect(): Promise<WorkerTotals[]> {
    const live = this.workers.filter((w) => w.alive);
    if (live.length === 0) return Promise.resolve([]);
    const id = ++this.collectId;
    return new Promise((resolve) => {
      this.collecting.set(id, { pending: new Set(live.map((w) => w.index)), totals: [], resolve });
      for (const worker of live)
        worker.thread.postMessage({ kind: "collect", id } satisfies ToWorker);
    });
  }

  /** Closes every worker's listeners and connections, then ends the threads. */
  close(): Promise<void> {
    this.closing ??= Promise.all(this.workers.map((w) => this.closeWorker(w))).then(() => {});
    return this.closing;
  }

  private startWorker(index: number): void {
    const thread = new Worker(WORKER_ENTRY, {
      workerData: { ...this.options.setup, index } satisfies WorkerSetup,
      // The worker's own stderr (its log lines) goes straight to the process's.
      stderr: false,
      stdout: false,
    });
    const state: WorkerState = { index, thread, applied: 0, ready: false, alive: true };
    this.workers.push(state);
    thread.on("message", (message: FromWorker) => this.onMessage(state, message));
    thread.on("error", (error) => {
      this.options.logger.error({ worker: index, err: error }, "proxy worker failed");
    });
    thread.on("exit", (code) => {
      if (!this.closing)
        this.options.logger.error(
          { worker: index, code },
          "proxy worker exited; the others carry its share of new connections",
        );
      this.retire(state);
    });
  }

  private onMessage(worker: WorkerState, message: FromWorker): void {
    switch (message.kind) {
      case "applied":
        worker.applied = message.seq;
        this.settleCaughtUp();
        return;
      case "ready":
        worker.ready = true;
        this.settleReady();
        return;
      case "outlier-results":
        this.options.onOutlierResults(message.results);
        return;
      case "collected":
        this.settleCollect(message.id, worker.index, message.totals);
        return;
      case "closed":
        return;
    }
  }

  /** A worker that is gone no longer holds anyone up. */
  private retire(worker: WorkerState): void {
    if (!worker.alive) return;
    worker.alive = false;
    this.settleCaughtUp();
    this.settleReady();
    for (const id of [...this.collecting.keys()]) this.settleCollect(id, worker.index, undefined);
  }

  private isCaughtUp(seq: number): boolean {
    return this.workers.every((w) => !w.alive || w.applied >= seq);
  }

  private settleCaughtUp(): void {
    const waiting = this.caughtUpWaiters;
    this.caughtUpWaiters = [];
    for (const waiter of waiting) {
      if (this.isCaughtUp(waiter.seq)) waiter.resolve();
      else this.caughtUpWaiters.push(waiter);
    }
  }

  private settleReady(): void {
    if (!this.workers.every((w) => w.ready || !w.alive)) return;
    const waiting = this.readyWaiters;
    this.readyWaiters = [];
    for (const resolve of waiting) resolve();
  }

  private settleCollect(id: number, index: number, totals: WorkerTotals | undefined): void {
    const collection = this.collecting.get(id);
    if (!collection?.pending.delete(index)) return;
    if (totals) collection.totals.push(totals);
    if (collection.pending.size > 0) return;
    this.collecting.delete(id);
    collection.resolve(collection.totals);
  }

  private async closeWorker(worker: WorkerState): Promise<void> {
    if (!worker.alive) return;
    const exited = new Promise<void>((resolve) => worker.thread.once("exit", () => resolve()));
    worker.thread.postMessage({ kind: "close" } satisfies ToWorker);
    const closed = new Promise<void>((resolve) => {
      const onMessage = (message: FromWorker) => {
        if (message.kind !== "closed") return;
        worker.thread.off("message", onMessage);
        resolve();
      };
      worker.thread.on("message", onMessage);
    });
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_TIMEOUT_MS).unref());
    await Promise.race([closed, exited, timeout]);
    await worker.thread.terminate();
    await exited;
  }
}
