import { Subject } from 'rxjs';
import { LiveChannel, type DropReason, type LiveClient } from './hub';
import { acceptsDecoded, LiveRecord } from './live-record';
import type { LiveEvent } from './resume-buffer';

interface Rec {
  n: number;
}

/** A lazy record whose decodes are counted; `fail` makes every decode throw. */
function counted(n: number, fail = false) {
  const calls = { decodes: 0, failures: [] as string[] };
  const record = LiveRecord.lazy<Rec>(
    () => {
      calls.decodes++;
      if (fail) throw new Error(`bad bytes ${n}`);
      return { n };
    },
    (error) => calls.failures.push(error.message),
  );
  return { record, calls };
}

class Client implements LiveClient<LiveRecord<Rec>> {
  readonly sent: string[] = [];
  readonly accepts: (r: LiveRecord<Rec>) => boolean;
  constructor(filter: (r: Rec) => boolean = () => true) {
    this.accepts = acceptsDecoded(filter);
  }
  send(event: LiveEvent<LiveRecord<Rec>>) {
    this.sent.push(event.json);
  }
  sizeOf(event: LiveEvent<LiveRecord<Rec>>) {
    return event.json.length;
  }
  bufferedBytes() {
    return 0;
  }
  drop(reason: DropReason) {
    throw new Error(`unexpected drop: ${reason}`);
  }
}

describe('LiveRecord', () => {
  it('decodes on first read only, and then returns the same value', () => {
    const { record, calls } = counted(1);
    expect(calls.decodes).toBe(0);
    const first = record.read();
    expect(first).toEqual({ n: 1 });
    expect(record.read()).toBe(first);
    expect(JSON.stringify(record)).toBe('{"n":1}');
    expect(calls.decodes).toBe(1);
  });

  it('reports an undecodable record once and reads it as undefined from then on', () => {
    const { record, calls } = counted(2, true);
    expect(record.read()).toBeUndefined();
    expect(record.read()).toBeUndefined();
    expect(calls).toEqual({ decodes: 1, failures: ['bad bytes 2'] });
  });

  it('wraps a value already decoded', () => {
    const value = { n: 3 };
    expect(LiveRecord.of(value).read()).toBe(value);
  });
});

describe('LiveRecord through a LiveChannel', () => {
  const options = { resumeEvents: 10, clientBufferBytes: 10_000 };

  it('decodes nothing while no client is connected, and a resume decodes what it replays once', () => {
    const source = new Subject<LiveRecord<Rec>>();
    const channel = new LiveChannel(source, options);
    // A client sees one record and leaves: its id is where the resumes below start.
    const early = new Client();
    const ids: string[] = [];
    early.send = (event) => ids.push(event.id);
    channel.join(early);
    source.next(LiveRecord.of({ n: 0 }));
    channel.leave(early);
    const records = [1, 2, 3].map((n) => counted(n));
    records.forEach(({ record }) => source.next(record));
    expect(records.map((r) => r.calls.decodes)).toEqual([0, 0, 0]);

    // Two clients resume after the first event: each record is decoded once for both.
    const firstId = ids[0]!;
    const a = new Client();
    const b = new Client((r) => r.n !== 2);
    const replayA = channel.join(a, firstId).replay.map((e) => e.json);
    const replayB = channel.join(b, firstId).replay.map((e) => e.json);
    expect(replayA).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
    expect(replayB).toEqual(['{"n":1}', '{"n":3}']);
    expect(records.map((r) => r.calls.decodes)).toEqual([1, 1, 1]);
  });

  it('skips an undecodable record for every client and keeps delivering the next ones', () => {
    const source = new Subject<LiveRecord<Rec>>();
    const channel = new LiveChannel(source, options);
    const a = new Client();
    const b = new Client((r) => r.n > 0);
    channel.join(a);
    channel.join(b);
    const bad = counted(1, true);
    source.next(bad.record);
    source.next(counted(2).record);
    expect(a.sent).toEqual(['{"n":2}']);
    expect(b.sent).toEqual(['{"n":2}']);
    expect(bad.calls).toEqual({ decodes: 1, failures: ['bad bytes 1'] });
    expect(channel.size).toBe(2);
  });
});
