import { countRegexSteps } from '../../test/support/regex-steps';
import { DEFAULT_ERROR_CODE_RULES } from '../enrich/error-codes';
import { BUILT_IN_PATTERNS } from './redactor';

/**
 * Every built-in regex applied to record data must take time linear in its input: a record is hostile
 * input, and one slow regex blocks the event loop for every record behind it. Work is counted in
 * backtracking steps (see countRegexSteps), not timed: for each hostile shape the steps at 4n must stay
 * near 4 times the steps at n (a quadratic pattern gives 16 times).
 */

/** Shapes that make unanchored or overlapping quantifiers backtrack: long runs of what they consume. */
const HOSTILE: Record<string, (n: number) => string> = {
  'word run': (n) => 'a'.repeat(n) + '=',
  'word run then colon': (n) => 'a'.repeat(n) + ' : ',
  'dashed run': (n) => 'a-'.repeat(n / 2) + '=',
  'dotted run': (n) => 'a.'.repeat(n / 2) + '@',
  'digit run': (n) => '1'.repeat(n),
  'spaced digits': (n) => '1111 '.repeat(n / 5),
  'dashed digits': (n) => '123-'.repeat(n / 4),
  'at signs': (n) => 'a@'.repeat(n / 2),
  'dotted domain': (n) => 'a@' + 'a.'.repeat(n / 2) + '1',
  'e-mail like run': (n) => 'x@' + 'a'.repeat(n) + '.a',
  'bearer then spaces': (n) => 'Bearer' + ' '.repeat(n),
  bearers: (n) => 'Bearer x '.repeat(n / 9),
  'unclosed quote': (n) => 'a:"' + 'a '.repeat(n / 2),
  'quoted keys': (n) => '"a'.repeat(n / 2),
  'escaped quotes': (n) => 'a:"' + '\\"'.repeat(n / 2),
  'key then spaces': (n) => 'a' + ' '.repeat(n) + 'b',
  'many keys': (n) => 'a: '.repeat(n / 3),
  'single quotes': (n) => "a:'".repeat(n / 3),
  'price words': (n) => 'price '.repeat(n / 6),
  'relation words': (n) => 'relation "'.repeat(n / 10),
  underscores: (n) => '_'.repeat(n) + '.',
};

const N = 200;

function growth(regex: RegExp, shape: (n: number) => string): number {
  return countRegexSteps(regex, shape(4 * N)) / countRegexSteps(regex, shape(N));
}

const patterns: [string, RegExp][] = [
  ...Object.entries(BUILT_IN_PATTERNS),
  ...DEFAULT_ERROR_CODE_RULES.flatMap(
    (rule) =>
      [
        ...(rule.message === undefined ? [] : [[`${rule.code} message`, new RegExp(rule.message, 'gi')]]),
        ...(rule.exception_type === undefined
          ? []
          : [[`${rule.code} exception type`, new RegExp(rule.exception_type, 'gi')]]),
      ] as [string, RegExp][],
  ),
];

describe('regexes applied to record data', () => {
  it.each(patterns)('%s runs in linear time on every hostile shape', (_name, regex) => {
    const worst = Object.entries(HOSTILE)
      .map(([shape, make]) => ({ shape, growth: growth(regex, make) }))
      .reduce((a, b) => (b.growth > a.growth ? b : a));
    expect(worst.growth).toBeLessThan(5);
  });

  it('the step count catches the quadratic key=value pattern this one replaced', () => {
    const unanchored =
      /(["']?)([A-Za-z_][\w.-]*)\1(\s*[:=]\s*)("(?:[^"\\]|\\.)*"|'[^']*'|(?:(?:Bearer|Basic)\s+)?[^\s,;&}\]]+)/g;
    expect(growth(unanchored, HOSTILE['word run']!)).toBeGreaterThan(12);
    expect(growth(BUILT_IN_PATTERNS.keyValue!, HOSTILE['word run']!)).toBeLessThan(5);
  });
});
