/**
 * An async readers–writer lock, FIFO between writers and readers: any number of readers hold it together, a
 * writer holds it alone. A reader that arrives after a waiting writer queues behind it, so a steady stream
 * of reads never starves writes; readers queued next to each other are let in together.
 */
export class ReadWriteLock {
  private readers = 0;
  private writing = false;
  private readonly queue: { write: boolean; grant: () => void }[] = [];

  /** Whether anyone holds the lock, and how many wait for it (for the pool metrics). */
  get usage(): { held: boolean; waiting: number } {
    return { held: this.writing || this.readers > 0, waiting: this.queue.length };
  }

  read<T>(fn: () => Promise<T>): Promise<T> {
    return this.hold(false, fn);
  }

  write<T>(fn: () => Promise<T>): Promise<T> {
    return this.hold(true, fn);
  }

  private async hold<T>(write: boolean, fn: () => Promise<T>): Promise<T> {
    if (this.queue.length > 0 || this.writing || (write && this.readers > 0)) {
      await new Promise<void>((grant) => this.queue.push({ write, grant }));
    } else if (write) {
      this.writing = true;
    } else {
      this.readers++;
    }
    try {
      return await fn();
    } finally {
      if (write) this.writing = false;
      else this.readers--;
      this.admit();
    }
  }

  /** Lets in the head of the queue: one writer once the lock is free, or every reader up to the next writer. */
  private admit(): void {
    while (this.queue.length > 0 && !this.writing) {
      const head = this.queue[0];
      if (head.write) {
        if (this.readers > 0) return;
        this.queue.shift();
        this.writing = true;
        head.grant();
        return;
      }
      this.queue.shift();
      this.readers++;
      head.grant();
    }
  }
}
