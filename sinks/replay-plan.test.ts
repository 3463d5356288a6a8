import { planReplay, type LedgerEntry } from './replay-plan';

const range = (first: bigint, last: bigint) => ({ first, last });
const done = (first: bigint, last: bigint): LedgerEntry => ({ first, last, tokenLast: last, complete: true });
const pending = (first: bigint, last: bigint, tokenLast = last): LedgerEntry => ({
  first,
  last,
  tokenLast,
  complete: false,
});

describe('planReplay', () => {
  it('writes a range nothing is known about as one new segment', () => {
    expect(planReplay(range(10n, 19n), [])).toEqual([{ kind: 'new', first: 10n, last: 19n }]);
  });

  it('ignores writes outside the range', () => {
    expect(planReplay(range(10n, 19n), [done(0n, 9n), done(20n, 29n)])).toEqual([
      { kind: 'new', first: 10n, last: 19n },
    ]);
  });

  it('skips a complete write replayed exactly', () => {
    expect(planReplay(range(10n, 19n), [done(10n, 19n)])).toEqual([
      { kind: 'skip', first: 10n, last: 19n, coveredTo: 19n },
    ]);
  });

  it('splits a longer replay of a complete write: skip [a, b], new (b, b′]', () => {
    expect(planReplay(range(10n, 30n), [done(10n, 19n)])).toEqual([
      { kind: 'skip', first: 10n, last: 19n, coveredTo: 19n },
      { kind: 'new', first: 20n, last: 30n },
    ]);
  });

  it('skips a shorter replay of a complete write entirely and says how far the write reached', () => {
    expect(planReplay(range(10n, 14n), [done(10n, 19n)])).toEqual([
      { kind: 'skip', first: 10n, last: 14n, coveredTo: 19n },
    ]);
  });

  it('continues inside a complete write after a shorter replay was committed', () => {
    expect(planReplay(range(15n, 40n), [done(10n, 19n)])).toEqual([
      { kind: 'skip', first: 15n, last: 19n, coveredTo: 19n },
      { kind: 'new', first: 20n, last: 40n },
    ]);
  });

  it('rewrites a pending write under its own name, then the rest as new', () => {
    expect(planReplay(range(10n, 30n), [pending(10n, 19n)])).toEqual([
      { kind: 'rewrite', first: 10n, last: 19n, tokenLast: 19n },
      { kind: 'new', first: 20n, last: 30n },
    ]);
    expect(planReplay(range(10n, 19n), [pending(10n, 19n)])).toEqual([
      { kind: 'rewrite', first: 10n, last: 19n, tokenLast: 19n },
    ]);
  });

  it('truncates a pending write that a shorter replay covers only in part', () => {
    expect(planReplay(range(10n, 14n), [pending(10n, 19n)])).toEqual([
      { kind: 'truncate', first: 10n, last: 14n, tokenLast: 19n, pendingLast: 19n },
    ]);
  });

  it('keeps the original name of an already truncated write', () => {
    expect(planReplay(range(10n, 20n), [pending(10n, 14n, 19n)])).toEqual([
      { kind: 'rewrite', first: 10n, last: 14n, tokenLast: 19n },
      { kind: 'new', first: 15n, last: 20n },
    ]);
  });

  it('follows a chain of writes and fills the gaps between them', () => {
    expect(planReplay(range(10n, 50n), [done(10n, 19n), pending(20n, 29n), done(35n, 39n)])).toEqual([
      { kind: 'skip', first: 10n, last: 19n, coveredTo: 19n },
      { kind: 'rewrite', first: 20n, last: 29n, tokenLast: 29n },
      { kind: 'new', first: 30n, last: 34n },
      { kind: 'skip', first: 35n, last: 39n, coveredTo: 39n },
      { kind: 'new', first: 40n, last: 50n },
    ]);
  });

  it('writes anew when entering a pending write past its start (a lost ledger record)', () => {
    expect(planReplay(range(15n, 30n), [pending(10n, 19n)])).toEqual([
      { kind: 'new', first: 15n, last: 19n },
      { kind: 'new', first: 20n, last: 30n },
    ]);
  });

  it('compares offsets as 64-bit integers', () => {
    const big = 9_007_199_254_740_993n; // not representable as a double
    expect(planReplay(range(big, big + 5n), [done(big, big + 1n)])).toEqual([
      { kind: 'skip', first: big, last: big + 1n, coveredTo: big + 1n },
      { kind: 'new', first: big + 2n, last: big + 5n },
    ]);
  });

  it('covers every offset of the range exactly once, in order', () => {
    const known = [done(3n, 7n), pending(8n, 12n), done(20n, 25n), pending(26n, 40n, 44n)];
    for (let first = 0n; first <= 30n; first++) {
      for (let last = first; last <= 45n; last += 3n) {
        const segments = planReplay(range(first, last), known);
        let next = first;
        for (const segment of segments) {
          expect(segment.first).toBe(next);
          expect(segment.last >= segment.first).toBe(true);
          next = segment.last + 1n;
        }
        expect(next).toBe(last + 1n);
      }
    }
  });
});
