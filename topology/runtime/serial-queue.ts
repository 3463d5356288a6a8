/** Runs async jobs one at a time, in submission order (batches and wall-clock punctuation share one producer). */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(job: () => Promise<T>): Promise<T> {
    const result = this.tail.then(job);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves when every job submitted so far has finished. */
  async drain(): Promise<void> {
    await this.tail;
  }
}
