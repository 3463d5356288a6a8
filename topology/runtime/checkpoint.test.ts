import type { StreamTask } from '../processor/stream-task';
import type { RawRecord, SourcePosition, SourceRange, StreamRecord } from '../processor/record';
import type { Sink } from '../sink';
import { Checkpoint } from './checkpoint';

class RecordingSink implements Sink<string, string> {
  readonly name = 'recording';
  buffered: string[] = [];
  write(record: StreamRecord<string, string>): void {
    this.buffered.push(record.value);
  }
  async flush(_ranges: readonly SourceRange[]): Promise<void> {
    this.buffered = [];
  }
  discard(): void {
    this.buffered = [];
  }
}

const record = (value: string): StreamRecord<string, string> => ({
  key: value,
  value,
  timestamp: 0,
  headers: {},
  topic: 'in',
  partition: 0,
  offset: '0',
});
const source = (offset: number): SourcePosition => ({ topic: 'in', partition: 0, offset: String(offset) });

const task = (id: string): StreamTask =>
  ({ id, streamTime: () => 0, stores: new Map() }) as unknown as StreamTask;

function raw(topic: string, partition: number, offset: number): RawRecord {
  return {
    topic,
    partition,
    offset: String(offset),
    key: null,
    value: Buffer.from('v'),
    timestamp: 0,
    headers: {},
  };
}

describe('Checkpoint', () => {
  it('covers one range per source partition, across tasks, with the position to commit', () => {
    const checkpoint = new Checkpoint();
    const [t0, t1] = [task('0_0'), task('0_1')];
    for (const offset of [5, 6, 7]) checkpoint.consumed(t0, raw('in', 0, offset));
    for (const offset of [40, 41]) checkpoint.consumed(t1, raw('in', 1, offset));
    // The fetch ended on transaction markers: the committed position moves past them.
    checkpoint.skipTo('in', 1, 44n);
    expect(
      checkpoint
        .ranges()
        .map((r) => [r.topic, r.partition, r.firstOffset, r.lastOffset, r.nextOffset, r.task.id]),
    ).toEqual([
      ['in', 0, '5', '7', 8n, '0_0'],
      ['in', 1, '40', '41', 44n, '0_1'],
    ]);
    expect([...checkpoint.tasks].map((t) => t.id)).toEqual(['0_0', '0_1']);
    expect(checkpoint.isEmpty()).toBe(false);
  });

  it("serializes each store key's last value once, at the seal, after the outputs", () => {
    const checkpoint = new Checkpoint();
    let serializations = 0;
    const state = { n: 0 };
    const change = () => ({
      topic: 'app-store-changelog',
      partition: 0,
      key: Buffer.from('k'),
      value: () => {
        serializations += 1;
        return Buffer.from(JSON.stringify(state));
      },
      timestamp: 1,
    });
    for (let i = 0; i < 1_000; i += 1) {
      state.n = i;
      checkpoint.changelog(change());
    }
    checkpoint.send({ topic: 'out', key: null, value: Buffer.from('o'), timestamp: 1, headers: {} });
    expect(serializations).toBe(0);
    // One held changelog record however often the key changed, plus the output.
    expect(checkpoint.inFlightRecords).toBe(2);
    const { records } = checkpoint.seal();
    expect(serializations).toBe(1);
    // Processing goes on while the sealed checkpoint commits: later changes are not in it.
    state.n = 1_000;
    expect(records.map((r) => [r.topic, r.value?.toString()])).toEqual([
      ['out', 'o'],
      ['app-store-changelog', '{"n":999}'],
    ]);
  });

  it('commits the stream time its tasks had at the seal', () => {
    let streamTime = 10;
    const t0 = { id: '0_0', streamTime: () => streamTime, stores: new Map() } as unknown as StreamTask;
    const checkpoint = new Checkpoint();
    checkpoint.consumed(t0, raw('in', 0, 0));
    const { ranges } = checkpoint.seal();
    streamTime = 99;
    expect(ranges.map((r) => [r.partition, r.nextOffset, r.streamTime])).toEqual([[0, 1n, 10]]);
  });

  it("holds sink writes until the seal, so a sink's buffer holds only the committing checkpoint's", () => {
    const sink = new RecordingSink();
    const committing = new Checkpoint();
    committing.sinkWrite(sink, record('a'), source(0));
    expect(sink.buffered).toEqual([]);
    committing.seal();
    expect(sink.buffered).toEqual(['a']);
    // The next checkpoint fills while the first commits; abandoning it leaves the sink alone.
    const next = new Checkpoint();
    next.sinkWrite(sink, record('b'), source(1));
    next.discard();
    expect(sink.buffered).toEqual(['a']);
    expect(next.isEmpty()).toBe(true);
    // A sealed checkpoint that fails drops what it handed to the sink.
    committing.discard();
    expect(sink.buffered).toEqual([]);
  });

  it('maps a record for a preparing sink while it is processed: a rejected record throws there, not at the seal', () => {
    /** Upper-cases values; refuses 'bad' (as a row mapping refuses a value it cannot store). */
    class PreparingSink extends RecordingSink {
      prepare(r: StreamRecord<string, string>): string {
        if (r.value === 'bad') throw new Error('cannot map bad');
        return r.value.toUpperCase();
      }
      writePrepared(prepared: string): void {
        this.buffered.push(prepared);
      }
    }
    const sink = new PreparingSink();
    const checkpoint = new Checkpoint();
    checkpoint.sinkWrite(sink, record('a'), source(0));
    expect(() => checkpoint.sinkWrite(sink, record('bad'), source(1))).toThrow('cannot map bad');
    checkpoint.sinkWrite(sink, record('c'), source(2));
    expect(sink.buffered).toEqual([]);
    checkpoint.seal();
    expect(sink.buffered).toEqual(['A', 'C']);
  });

  it("sets aside its tasks' persistent store changes at the seal, before the changelog is serialized", () => {
    const steps: string[] = [];
    const persistent = { prepareCommit: () => void steps.push('prepareCommit') };
    const t0 = {
      id: '0_0',
      streamTime: () => 0,
      stores: new Map([['store', { persistent }]]),
    } as unknown as StreamTask;
    const checkpoint = new Checkpoint();
    checkpoint.changelog({
      topic: 'app-store-changelog',
      partition: 0,
      key: Buffer.from('k'),
      value: () => (steps.push('serialize'), Buffer.from('v')),
      timestamp: 0,
    });
    checkpoint.consumed(t0, raw('in', 0, 0));
    checkpoint.seal();
    expect(steps).toEqual(['prepareCommit', 'serialize']);
  });

  it('measures its age from its first effect', () => {
    let now = 1_000;
    const checkpoint = new Checkpoint(0, () => now);
    now = 1_500;
    expect(checkpoint.age()).toBe(0);
    checkpoint.consumed(task('0_0'), raw('in', 0, 0));
    now = 1_620;
    expect(checkpoint.age()).toBe(120);
  });
});
