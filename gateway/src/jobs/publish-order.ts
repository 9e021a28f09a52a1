/**
 * One tenant's jobs reach its queue from this gateway in the order they were submitted. Submissions run side
 * by side (record, queue declaration, depth); only their publishes wait in line, each until the one before it
 * is on the channel (or failed before it), so a client that sends six jobs sees them start in the order it
 * sent them. The channel keeps that order; the confirms are awaited side by side.
 */
export class PublishOrder {
  private readonly tails = new Map<string, Promise<void>>();

  /** Takes the next place in `key`'s line: `ready` settles once every earlier place has left. */
  enter(key: string): { ready: Promise<void>; leave: () => void } {
    const ready = this.tails.get(key) ?? Promise.resolve();
    let leave!: () => void;
    const left = new Promise<void>((resolve) => (leave = resolve));
    const tail = ready.then(() => left);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return { ready, leave };
  }

  /** Keys with a place taken (for tests: an idle gateway holds none). */
  get size(): number {
    return this.tails.size;
  }
}
