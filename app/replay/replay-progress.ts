import { Presets, SingleBar } from 'cli-progress';
import type { BoundedProgress } from '../../topology';

/** Shows a replay's progress: records done of the range, rate, ETA. */
export interface ProgressReporter {
  update(progress: BoundedProgress): void;
  stop(): void;
}

/**
 * On a terminal, a progress bar (cli-progress, redrawn in place); otherwise — a log file, CI — a
 * plain line at most every `intervalMs`, and one at the end, so logs are not flooded.
 */
export function progressReporter(options: {
  label: string;
  stream: NodeJS.WriteStream;
  /** What is counted; default 'records'. */
  unit?: string;
  intervalMs?: number;
}): ProgressReporter {
  const unit = options.unit ?? 'records';
  return options.stream.isTTY === true
    ? barReporter(options.label, unit, options.stream)
    : lineReporter(options.label, unit, options.stream, options.intervalMs ?? 5_000);
}

function barReporter(label: string, unit: string, stream: NodeJS.WriteStream): ProgressReporter {
  const bar = new SingleBar(
    {
      stream,
      format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted}`,
      hideCursor: true,
      etaBuffer: 50,
    },
    Presets.shades_classic,
  );
  let started = false;
  const rate = new RateMeter();
  return {
    update({ done, total }) {
      if (!started) {
        bar.start(total, done, { rate: '0' });
        started = true;
      }
      bar.setTotal(total);
      bar.update(done, { rate: rate.sample(done).toFixed(0) });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

function lineReporter(
  label: string,
  unit: string,
  stream: NodeJS.WriteStream,
  intervalMs: number,
): ProgressReporter {
  let lastLine = 0;
  let last: BoundedProgress | undefined;
  const rate = new RateMeter();
  const write = ({ done, total }: BoundedProgress, perSecond: number): void => {
    const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
    const eta = perSecond > 0 ? `${Math.ceil((total - done) / perSecond)}s` : 'unknown';
    stream.write(`${label}: ${done}/${total} ${unit} (${percent}%), ${perSecond.toFixed(0)}/s, ETA ${eta}\n`);
  };
  return {
    update(progress) {
      last = progress;
      const perSecond = rate.sample(progress.done);
      const now = Date.now();
      if (now - lastLine >= intervalMs) {
        lastLine = now;
        write(progress, perSecond);
      }
    },
    stop() {
      if (last !== undefined) write(last, rate.sample(last.done));
    },
  };
}

/** Records per second since the first sample. */
class RateMeter {
  private first: { at: number; done: number } | undefined;

  sample(done: number): number {
    const now = Date.now();
    if (this.first === undefined) this.first = { at: now, done };
    const seconds = (now - this.first.at) / 1_000;
    return seconds > 0 ? (done - this.first.done) / seconds : 0;
  }
}
