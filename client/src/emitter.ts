/**
 * A typed event emitter small enough for the browser bundle. Unlike Node's,
 * an event named `error` with no listener is not thrown: failures reach the
 * caller through the promise they are waiting on.
 */
export class Emitter<Events extends Record<string, unknown>> {
  private readonly listeners = new Map<keyof Events, Set<(value: never) => void>>();

  on<K extends keyof Events>(event: K, listener: (value: Events[K]) => void): this {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (value: never) => void);
    return this;
  }

  off<K extends keyof Events>(event: K, listener: (value: Events[K]) => void): this {
    this.listeners.get(event)?.delete(listener as (value: never) => void);
    return this;
  }

  once<K extends keyof Events>(event: K, listener: (value: Events[K]) => void): this {
    const wrapped = (value: Events[K]) => {
      this.off(event, wrapped);
      listener(value);
    };
    return this.on(event, wrapped);
  }

  protected emit<K extends keyof Events>(event: K, value: Events[K]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) (listener as (value: Events[K]) => void)(value);
  }
}
