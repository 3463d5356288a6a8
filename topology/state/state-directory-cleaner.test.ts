import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateDirectoryCleaner } from './state-directory-cleaner';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'stacklens-state-cleaner-'));
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

function taskDir(task: string): string {
  const store = join(dir, task, 'counts-store');
  mkdirSync(store, { recursive: true });
  writeFileSync(join(store, 'data.mdb'), 'x');
  return join(dir, task);
}

describe('StateDirectoryCleaner', () => {
  it('deletes a task directory once it has been unowned for the delay, never an owned one', () => {
    let now = 1_000;
    const cleaner = new StateDirectoryCleaner({ dir, delayMs: 600_000, clock: () => now });
    taskDir('0_0');
    taskDir('0_1');
    taskDir('1_0');
    expect(cleaner.clean(new Set(['0_0', '0_1', '1_0']))).toEqual([]);
    // 0_1 is revoked.
    now += 5_000;
    expect(cleaner.clean(new Set(['0_0', '1_0']))).toEqual([]);
    now += 599_999;
    expect(cleaner.clean(new Set(['0_0', '1_0']))).toEqual([]);
    expect(existsSync(join(dir, '0_1'))).toBe(true);
    now += 1;
    expect(cleaner.clean(new Set(['0_0', '1_0']))).toEqual(['0_1']);
    expect(readdirSync(dir).sort()).toEqual(['0_0', '1_0']);
    // Owned for ever: never deleted.
    now += 10 * 600_000;
    expect(cleaner.clean(new Set(['0_0', '1_0']))).toEqual([]);
  });

  it('forgets the unowned time of a task that comes back before the delay', () => {
    let now = 0;
    const cleaner = new StateDirectoryCleaner({ dir, delayMs: 100, clock: () => now });
    taskDir('0_1');
    cleaner.clean(new Set());
    now = 90;
    cleaner.clean(new Set(['0_1'])); // reassigned
    now = 150;
    expect(cleaner.clean(new Set())).toEqual([]); // revoked again at 150: the delay starts over
    now = 249;
    expect(cleaner.clean(new Set())).toEqual([]);
    now = 250;
    expect(cleaner.clean(new Set())).toEqual(['0_1']);
    expect(existsSync(join(dir, '0_1'))).toBe(false);
  });

  it('leaves alone files and directories that are not tasks, and does nothing while the instance directory does not exist', () => {
    const cleaner = new StateDirectoryCleaner({ dir: join(dir, 'missing'), delayMs: 0, clock: () => 0 });
    expect(cleaner.clean(new Set())).toEqual([]);
    writeFileSync(join(dir, 'note.txt'), 'x');
    mkdirSync(join(dir, 'backup'));
    taskDir('2_3');
    expect(new StateDirectoryCleaner({ dir, delayMs: 0, clock: () => 0 }).clean(new Set())).toEqual(['2_3']);
    expect(readdirSync(dir).sort()).toEqual(['backup', 'note.txt']);
  });
});
