// Earliest-deadline-first scheduler: Envoy's weighted round robin (edf_scheduler.h).

/**
 * Each entry's next deadline is now + 1/weight; a pick takes the earliest (ties in insertion
 * order) and re-adds it with a freshly computed weight. The heap lives in typed arrays
 * (deadline, order, item index) so a pick moves numbers, not objects.
 */
export class EdfScheduler<T> {
  readonly #items: T[] = [];
  #deadline = new Float64Array(8);
  #order = new Float64Array(8);
  #item = new Int32Array(8);
  #size = 0;
  #time = 0;
  #nextOrder = 0;

  get size(): number {
    return this.#size;
  }

  add(item: T, weight: number): void {
    if (this.#size === this.#deadline.length) this.#grow();
    this.#items.push(item);
    const at = this.#size++;
    this.#deadline[at] = this.#time + 1 / weight;
    this.#order[at] = this.#nextOrder++;
    this.#item[at] = this.#items.length - 1;
    this.#siftUp(at);
  }

  /** Picks the earliest deadline and re-adds it with `weightOf(item)`; undefined if empty. */
  pickAndAdd(weightOf: (item: T) => number): T | undefined {
    if (this.#size === 0) return undefined;
    const item = this.#items[this.#item[0]!]!;
    this.#time = this.#deadline[0]!;
    this.#deadline[0] = this.#time + 1 / weightOf(item);
    this.#order[0] = this.#nextOrder++;
    this.#siftDown(0);
    return item;
  }

  /**
   * A scheduler in the state it would reach after `picks` picks from a fresh one holding
   * `items`, computed in O(n log n) whatever `picks` is (Envoy's createWithPicks): each entry
   * is first charged floor(picks × w/W) picks, then the few remaining picks are made one by one.
   * Envoy seeds this with a random number so that proxies don't all start on the same host.
   */
  static createWithPicks<T>(
    items: readonly T[],
    weightOf: (item: T) => number,
    picks: number,
  ): EdfScheduler<T> {
    const scheduler = new EdfScheduler<T>();
    if (items.length === 0) return scheduler;
    const total = picks % 429496729;
    // Envoy adds 1e-13 so weights that are multiples of each other don't tie differently.
    const weights = items.map((item) => weightOf(item) + 1e-13);
    const sum = weights.reduce((a, b) => a + b, 0);
    const n = items.length;
    scheduler.#deadline = new Float64Array(n);
    scheduler.#order = new Float64Array(n);
    scheduler.#item = new Int32Array(n);
    let done = 0;
    let maxPickTime = 0;
    for (let i = 0; i < n; i++) {
      const weight = weights[i]!;
      let floorPicks = Math.floor((weight * total) / sum);
      if (floorPicks > 0 && floorPicks / weight >= total / sum) floorPicks--;
      maxPickTime = Math.max(maxPickTime, floorPicks / weight);
      scheduler.#items.push(items[i]!);
      scheduler.#deadline[i] = (floorPicks + 1) / weight;
      scheduler.#order[i] = i;
      scheduler.#item[i] = i;
      done += floorPicks;
    }
    scheduler.#size = n;
    scheduler.#time = maxPickTime;
    scheduler.#nextOrder = n;
    for (let i = (n >> 1) - 1; i >= 0; i--) scheduler.#siftDown(i);
    for (; done < total; done++) scheduler.pickAndAdd(weightOf);
    return scheduler;
  }

  #grow(): void {
    const grow = <A extends Float64Array | Int32Array>(from: A, to: A): A => {
      to.set(from);
      return to;
    };
    const capacity = this.#deadline.length * 2;
    this.#deadline = grow(this.#deadline, new Float64Array(capacity));
    this.#order = grow(this.#order, new Float64Array(capacity));
    this.#item = grow(this.#item, new Int32Array(capacity));
  }

  #move(from: number, to: number): void {
    this.#deadline[to] = this.#deadline[from]!;
    this.#order[to] = this.#order[from]!;
    this.#item[to] = this.#item[from]!;
  }

  #siftUp(index: number): void {
    const deadlines = this.#deadline;
    const orders = this.#order;
    const deadline = deadlines[index]!;
    const order = orders[index]!;
    const item = this.#item[index]!;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const pd = deadlines[parent]!;
      if (pd < deadline || (pd === deadline && orders[parent]! < order)) break;
      this.#move(parent, index);
      index = parent;
    }
    deadlines[index] = deadline;
    orders[index] = order;
    this.#item[index] = item;
  }

  #siftDown(index: number): void {
    const deadlines = this.#deadline;
    const orders = this.#order;
    const deadline = deadlines[index]!;
    const order = orders[index]!;
    const item = this.#item[index]!;
    const n = this.#size;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= n) break;
      let cd = deadlines[child]!;
      if (child + 1 < n) {
        const rd = deadlines[child + 1]!;
        if (rd < cd || (rd === cd && orders[child + 1]! < orders[child]!)) {
          child++;
          cd = rd;
        }
      }
      if (deadline < cd || (deadline === cd && order < orders[child]!)) break;
      this.#move(child, index);
      index = child;
    }
    deadlines[index] = deadline;
    orders[index] = order;
    this.#item[index] = item;
  }
}
