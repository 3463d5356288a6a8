import type { Cancellable, PunctuationType, Punctuator } from './processor';

interface Schedule {
  readonly intervalMs: number;
  readonly punctuator: Punctuator;
  /** Next time (stream or wall clock) at which it fires; undefined = at the first observed time. */
  next: number | undefined;
  cancelled: boolean;
}

/**
 * Punctuation schedules of one task. As in Kafka Streams, a schedule fires at most once per
 * advance: if time jumps over several intervals it fires once and re-anchors on the current time.
 * Stream-time schedules fire first at the first record the task processes after scheduling.
 */
export class PunctuationQueue {
  private readonly schedules: Record<PunctuationType, Schedule[]> = { 'stream-time': [], 'wall-clock': [] };

  schedule(
    intervalMs: number,
    type: PunctuationType,
    punctuator: Punctuator,
    wallClockNow: number,
  ): Cancellable {
    if (!Number.isInteger(intervalMs) || intervalMs <= 0) {
      throw new RangeError(`punctuation interval must be a positive integer of ms, got ${intervalMs}`);
    }
    const schedule: Schedule = {
      intervalMs,
      punctuator,
      next: type === 'wall-clock' ? wallClockNow + intervalMs : undefined,
      cancelled: false,
    };
    this.schedules[type].push(schedule);
    return {
      cancel: () => {
        schedule.cancelled = true;
        this.schedules[type] = this.schedules[type].filter((s) => s !== schedule);
      },
    };
  }

  /** Fires the schedules of `type` that are due at `time`. */
  fire(type: PunctuationType, time: number): void {
    for (const schedule of [...this.schedules[type]]) {
      if (schedule.cancelled || (schedule.next !== undefined && time < schedule.next)) continue;
      const planned = (schedule.next ?? time) + schedule.intervalMs;
      schedule.next = time >= planned ? time + schedule.intervalMs : planned;
      schedule.punctuator(time);
    }
  }

  clear(): void {
    this.schedules['stream-time'] = [];
    this.schedules['wall-clock'] = [];
  }
}
