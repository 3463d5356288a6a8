import { progressReporter } from './replay-progress';

function fakeStream(isTTY: boolean): { stream: NodeJS.WriteStream; written: string[] } {
  const written: string[] = [];
  const stream = {
    isTTY,
    write: (chunk: string) => written.push(chunk) > 0,
  } as unknown as NodeJS.WriteStream;
  return { stream, written };
}

describe('progressReporter off a terminal', () => {
  it('writes a plain line at most once per interval, and the final state at stop', () => {
    const { stream, written } = fakeStream(false);
    const progress = progressReporter({ label: 'replay x', stream, intervalMs: 60_000 });
    progress.update({ done: 0, total: 40 });
    progress.update({ done: 10, total: 40 });
    progress.update({ done: 40, total: 40 });
    progress.stop();
    expect(written).toHaveLength(2);
    expect(written[0]).toMatch(/^replay x: 0\/40 records \(0%\), \d+\/s, ETA unknown\n$/);
    expect(written[1]).toMatch(/^replay x: 40\/40 records \(100%\)/);
  });

  it('counts what it is told to, and an empty range is complete', () => {
    const { stream, written } = fakeStream(false);
    const progress = progressReporter({ label: 'archive', unit: 'archive objects', stream });
    progress.update({ done: 0, total: 0 });
    expect(written[0]).toMatch(/^archive: 0\/0 archive objects \(100%\)/);
  });
});
