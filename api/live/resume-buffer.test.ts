import { ResumeBuffer } from './resume-buffer';

describe('ResumeBuffer', () => {
  it('replays exactly the events after Last-Event-ID', () => {
    const buffer = new ResumeBuffer<string>(10, 'e');
    const ids = ['a', 'b', 'c', 'd'].map((d) => buffer.append(d).id);
    expect(ids).toEqual(['e-1', 'e-2', 'e-3', 'e-4']);
    expect(buffer.since('e-2')).toEqual({
      events: [expect.objectContaining({ data: 'c' }), expect.objectContaining({ data: 'd' })],
      complete: true,
    });
    expect(buffer.since('e-4')).toEqual({ events: [], complete: true });
  });

  it('reports a gap when the missed events were evicted, and returns what is left', () => {
    const buffer = new ResumeBuffer<number>(3, 'e');
    for (let i = 1; i <= 6; i++) buffer.append(i);
    const replay = buffer.since('e-1');
    expect(replay.complete).toBe(false);
    expect(replay.events.map((e) => e.data)).toEqual([4, 5, 6]);
    expect(buffer.since('e-3')).toEqual({ events: expect.any(Array), complete: true });
    expect(buffer.since('e-3').events.map((e) => e.data)).toEqual([4, 5, 6]);
  });

  it('resumes ids from another process, from the future or malformed at the live tail, as a gap', () => {
    const buffer = new ResumeBuffer<number>(3, 'e');
    for (let i = 1; i <= 3; i++) buffer.append(i);
    for (const id of ['other-1', 'e-9', 'garbage', 'e--1']) {
      expect(buffer.since(id)).toEqual({ events: [], complete: false });
    }
  });

  it('serializes an event once, however many times it is read', () => {
    const buffer = new ResumeBuffer<{ n: number }>(3, 'e');
    const data = { n: 1 };
    const event = buffer.append(data);
    const stringify = jest.spyOn(JSON, 'stringify');
    try {
      expect([event.json, event.json, event.json]).toEqual(['{"n":1}', '{"n":1}', '{"n":1}']);
      expect(stringify).toHaveBeenCalledTimes(1);
    } finally {
      stringify.mockRestore();
    }
  });
});
