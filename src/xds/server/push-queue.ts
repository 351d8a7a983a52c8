// Pushes to many connections, a slice at a time: computing every connection's push in one
// synchronous run sends nothing until the last is computed (every proxy converges at the same,
// late moment) and holds every response in memory at once. istiod queues pushes per proxy and
// merges a proxy's queued pushes (PILOT_PUSH_THROTTLE bounds how many run at once); here the
// event loop gets a turn between slices, so computed responses are written to their sockets and
// ACKs are read while the rest of the queue waits.
import { performance } from "node:perf_hooks";

export interface Pushable {
  /** Recomputes the connection from the latest resources and sends what changed. */
  push(): void;
}

export interface PushQueueOptions {
  /** How long one slice may run before the event loop gets a turn (default 10 ms). */
  sliceMs?: number;
  /** Runs what failed in a push (the queue carries on with the next connection). */
  onError?: (error: unknown) => void;
}

export class PushQueue<C extends Pushable> {
  /** Connections waiting for a push, in arrival order; a connection is queued at most once, so
   * pushes that arrive while it waits merge into one, computed from the latest state. */
  readonly #queued = new Set<C>();
  readonly #sliceMs: number;
  readonly #onError: ((error: unknown) => void) | undefined;
  #scheduled = false;
  #running = false;
  #drained: Array<() => void> = [];

  constructor(options: PushQueueOptions = {}) {
    this.#sliceMs = options.sliceMs ?? 10;
    this.#onError = options.onError;
  }

  get size(): number {
    return this.#queued.size;
  }

  /**
   * Queues `connections` and starts on them at once: a small fleet is pushed before this
   * returns, a large one continues in later turns of the event loop. Resolves once the queue
   * is empty (everything queued so far, and since, has been pushed).
   */
  enqueue(connections: Iterable<C>): Promise<void> {
    for (const connection of connections) this.#queued.add(connection);
    const drained = new Promise<void>((resolve) => this.#drained.push(resolve));
    this.#run();
    return drained;
  }

  /** A closed connection needs no push. */
  remove(connection: C): void {
    this.#queued.delete(connection);
    if (this.#queued.size === 0 && !this.#running) this.#settle();
  }

  /** Drops everything queued (the server is closing); waiters are released. */
  clear(): void {
    this.#queued.clear();
    this.#settle();
  }

  #run(): void {
    if (this.#running) return; // a push() from inside a push: the running slice takes it
    this.#running = true;
    const deadline = performance.now() + this.#sliceMs;
    try {
      for (const connection of this.#queued) {
        this.#queued.delete(connection);
        try {
          connection.push();
        } catch (error) {
          this.#onError?.(error);
        }
        if (performance.now() >= deadline) break;
      }
    } finally {
      this.#running = false;
    }
    if (this.#queued.size === 0) this.#settle();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.#run();
      });
    }
  }

  #settle(): void {
    for (const resolve of this.#drained.splice(0)) resolve();
  }
}
