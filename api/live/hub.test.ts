import { Subject } from 'rxjs';
import { ConnectionGate, LiveChannel, type DropReason, type LiveClient } from './hub';
import type { LiveEvent } from './resume-buffer';

class FakeClient implements LiveClient<number> {
  received: number[] = [];
  dropped: DropReason[] = [];
  buffered = 0;
  constructor(
    private readonly filter: (n: number) => boolean = () => true,
    private readonly growth = 0,
  ) {}
  accepts(n: number) {
    return this.filter(n);
  }
  send(event: LiveEvent<number>) {
    this.received.push(event.data);
    this.buffered += this.growth;
  }
  sizeOf() {
    return 10;
  }
  bufferedBytes() {
    return this.buffered;
  }
  drop(reason: DropReason) {
    this.dropped.push(reason);
  }
}

describe('LiveChannel', () => {
  it('fans one source out to every client, each through its own filter', () => {
    const source = new Subject<number>();
    const channel = new LiveChannel(source, { resumeEvents: 10, clientBufferBytes: 100 });
    const all = new FakeClient();
    const even = new FakeClient((n) => n % 2 === 0);
    channel.join(all);
    channel.join(even);
    [1, 2, 3, 4].forEach((n) => source.next(n));
    expect(all.received).toEqual([1, 2, 3, 4]);
    expect(even.received).toEqual([2, 4]);
    expect(source.observed).toBe(true);
  });

  it('drops a client whose buffer exceeds the bound, and keeps serving the others', () => {
    const source = new Subject<number>();
    const drops: string[] = [];
    const channel = new LiveChannel(source, {
      resumeEvents: 10,
      clientBufferBytes: 25,
      onDrop: (r) => drops.push(r),
    });
    const slow = new FakeClient(() => true, 10);
    const fast = new FakeClient();
    channel.join(slow);
    channel.join(fast);
    for (let n = 1; n <= 6; n++) source.next(n);
    // 10 bytes per event: after 3 events the slow client holds 30 > 25 bytes and is dropped on the 4th.
    expect(slow.received).toEqual([1, 2, 3]);
    expect(slow.dropped).toEqual(['slow_consumer']);
    expect(fast.received).toEqual([1, 2, 3, 4, 5, 6]);
    expect(channel.size).toBe(1);
    expect(drops).toEqual(['slow_consumer']);
  });

  it('replays missed events that the client accepts on join with Last-Event-ID', () => {
    const source = new Subject<number>();
    const channel = new LiveChannel(source, { resumeEvents: 10, clientBufferBytes: 100 });
    const first = new FakeClient();
    channel.join(first);
    [1, 2, 3, 4].forEach((n) => source.next(n));
    const replay = channel.join(new FakeClient((n) => n !== 3), `${idPrefix(channel)}-2`);
    expect(replay.complete).toBe(true);
    expect(replay.replay.map((e) => e.data)).toEqual([4]);
  });

  it('bounds a replay to the client buffer, keeping the newest events and reporting the rest as a gap', () => {
    const source = new Subject<number>();
    // 10 bytes per event (FakeClient.sizeOf): 35 bytes hold three.
    const channel = new LiveChannel(source, { resumeEvents: 100, clientBufferBytes: 35 });
    channel.join(new FakeClient());
    for (let n = 1; n <= 50; n++) source.next(n);
    const replay = channel.join(new FakeClient(), `${idPrefix(channel)}-1`);
    expect(replay).toMatchObject({ complete: false });
    expect(replay.replay.map((e) => e.data)).toEqual([48, 49, 50]);
  });

  it('resumes an unknown Last-Event-ID at the live tail with a gap, replaying nothing', () => {
    const source = new Subject<number>();
    const channel = new LiveChannel(source, { resumeEvents: 100, clientBufferBytes: 1_000 });
    channel.join(new FakeClient());
    for (let n = 1; n <= 50; n++) source.next(n);
    const client = new FakeClient();
    expect(channel.join(client, 'someone-elses-7')).toEqual({ replay: [], complete: false });
    source.next(51);
    expect(client.received).toEqual([51]);
  });

  it('skips a record a filter cannot evaluate, for that client only, and keeps streaming', () => {
    const source = new Subject<number>();
    const channel = new LiveChannel(source, { resumeEvents: 10, clientBufferBytes: 100 });
    const picky = new FakeClient((n) => {
      if (n === 2) throw new TypeError('malformed');
      return true;
    });
    const all = new FakeClient();
    channel.join(picky);
    channel.join(all);
    [1, 2, 3].forEach((n) => source.next(n));
    expect(picky.received).toEqual([1, 3]);
    expect(all.received).toEqual([1, 2, 3]);
  });

  it('disconnects every client with a notice when the feed ends, and refuses new ones', () => {
    const source = new Subject<number>();
    const channel = new LiveChannel(source, { resumeEvents: 10, clientBufferBytes: 100 });
    const client = new FakeClient();
    channel.join(client);
    source.complete();
    expect(client.dropped).toEqual(['feed_ended']);
    const late = new FakeClient();
    channel.join(late);
    expect(late.dropped).toEqual(['feed_ended']);
  });
});

function idPrefix(channel: LiveChannel<number>): string {
  return (channel as unknown as { buffer: { epoch: string } }).buffer.epoch;
}

describe('ConnectionGate', () => {
  it('admits up to the bound and frees a slot on release', () => {
    const gate = new ConnectionGate(2);
    const first = gate.tryAcquire();
    expect(first).toBeInstanceOf(Function);
    expect(gate.tryAcquire()).toBeInstanceOf(Function);
    expect(gate.tryAcquire()).toBeUndefined();
    expect(gate.count).toBe(2);
    first?.();
    expect(gate.count).toBe(1);
    expect(gate.tryAcquire()).toBeInstanceOf(Function);
  });

  it('frees a slot once however many times its release is called', () => {
    const gate = new ConnectionGate(3);
    const release = gate.tryAcquire();
    gate.tryAcquire();
    release?.();
    release?.();
    release?.();
    expect(gate.count).toBe(1);
  });
});
