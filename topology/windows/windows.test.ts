import { hoppingWindows } from './hopping';
import { mergedSession, sessionAccepts, sessionWindows } from './session';
import { tumblingWindows } from './tumbling';
import { isTimeWindowClosed, sessionCloseTime } from './window';

describe('window definitions', () => {
  it('tumbling: each timestamp is in exactly one epoch-aligned window', () => {
    const w = tumblingWindows({ sizeMs: 10, graceMs: 0 });
    expect(w.windowsFor(0)).toEqual([{ start: 0, end: 10 }]);
    expect(w.windowsFor(9)).toEqual([{ start: 0, end: 10 }]);
    expect(w.windowsFor(10)).toEqual([{ start: 10, end: 20 }]);
  });

  it('hopping: a timestamp is in size/advance windows, never starting before 0', () => {
    const w = hoppingWindows({ sizeMs: 10, advanceMs: 5, graceMs: 0 });
    expect(w.windowsFor(12)).toEqual([
      { start: 5, end: 15 },
      { start: 10, end: 20 },
    ]);
    expect(w.windowsFor(3)).toEqual([{ start: 0, end: 10 }]);
    const three = hoppingWindows({ sizeMs: 9, advanceMs: 3, graceMs: 0 });
    expect(three.windowsFor(10)).toEqual([
      { start: 3, end: 12 },
      { start: 6, end: 15 },
      { start: 9, end: 18 },
    ]);
  });

  it('rejects invalid durations', () => {
    expect(() => tumblingWindows({ sizeMs: 0, graceMs: 0 })).toThrow(RangeError);
    expect(() => hoppingWindows({ sizeMs: 5, advanceMs: 10, graceMs: 0 })).toThrow(RangeError);
    expect(() => sessionWindows({ inactivityGapMs: 5, graceMs: -1 })).toThrow(RangeError);
  });

  it('closing: time windows at end + grace; sessions before stream time - gap - grace', () => {
    expect(isTimeWindowClosed({ start: 0, end: 10 }, 5, 14)).toBe(false);
    expect(isTimeWindowClosed({ start: 0, end: 10 }, 5, 15)).toBe(true);
    // Sessions ending before stream time - grace - gap are closed (the gap counts too).
    const sessions = sessionWindows({ inactivityGapMs: 10, graceMs: 5 });
    expect(sessionCloseTime(sessions, 25)).toBe(10);
    expect(sessionCloseTime(sessions, 26)).toBe(11);
  });

  it('sessions accept records within the gap on either side and merge', () => {
    expect(sessionAccepts({ start: 10, end: 20 }, 25, 5)).toBe(true);
    expect(sessionAccepts({ start: 10, end: 20 }, 26, 5)).toBe(false);
    expect(sessionAccepts({ start: 10, end: 20 }, 5, 5)).toBe(true);
    expect(
      mergedSession(
        [
          { start: 10, end: 20 },
          { start: 24, end: 30 },
        ],
        22,
      ),
    ).toEqual({ start: 10, end: 30 });
  });
});
