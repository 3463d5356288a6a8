import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

import type { FixtureInput, FixtureOutput } from './topology-fixture-app';
import { BROKERS } from './topology-kafka';
import { waitFor } from './wait-for';

const FIXTURE = join(__dirname, 'topology-fixture-app.ts');

/** The fixture app in a child process, with its JSON log lines collected. */
export class FixtureProcess {
  readonly logs: Record<string, unknown>[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', FIXTURE], {
      env: { ...process.env, ...env, TS_NODE_SWC: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let pending = '';
    this.child.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        try {
          this.logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.logs.push({ msg: line });
        }
      }
    });
    let stderr = '';
    this.child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
    void this.exited.then((code) => {
      if (code !== 0 && code !== null && stderr) console.error(`fixture exited ${code}: ${stderr}`);
    });
  }

  hasLog(predicate: (entry: Record<string, unknown>) => boolean): boolean {
    return this.logs.some(predicate);
  }

  async waitForLog(
    predicate: (entry: Record<string, unknown>) => boolean,
    what: string,
    timeoutMs = 60_000,
  ): Promise<void> {
    await waitFor(what, () => this.hasLog(predicate), timeoutMs);
  }

  /** Task ids of the latest assignment logged. */
  assignedTasks(): string[] {
    const last = [...this.logs].reverse().find((l) => l.msg === 'partitions assigned');
    return (last?.assigned as string[] | undefined) ?? [];
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

/** Numbered fixture inputs `from`..`from + count - 1`, spread over `groups` groups. */
export function fixtureRecords(
  from: number,
  count: number,
  groups: number,
): { key: string; value: string }[] {
  return Array.from({ length: count }, (_, i) => {
    const value: FixtureInput = { id: from + i, group: `g${(from + i) % groups}` };
    return { key: JSON.stringify(`r${from + i}`), value: JSON.stringify(value) };
  });
}

/** The environment of one fixture instance (exactly_once unless `extra` says otherwise). */
export function fixtureEnv(
  app: { appId: string; input: string; output: string },
  instance: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    FIXTURE_APP_ID: app.appId,
    FIXTURE_INSTANCE: instance,
    FIXTURE_BROKERS: BROKERS.join(','),
    FIXTURE_GUARANTEE: 'exactly_once',
    FIXTURE_INPUT: app.input,
    FIXTURE_OUTPUT: app.output,
    ...extra,
  };
}

/**
 * What the fixture's outputs say of exactly-once: ids seen, ids seen more than once, and for each
 * group whether its running counts went 1..n without a gap or repeat (state moved with its task).
 */
export function exactlyOnceReport(
  outputs: readonly { key: string | null; value: string | null }[],
  total: number,
  groups: number,
): { ids: number; duplicated: number; groupsCounted: boolean } {
  const perId = new Map<number, number>();
  const counts = new Map<string, number[]>();
  for (const r of outputs) {
    const out = JSON.parse(r.value!) as FixtureOutput;
    perId.set(out.id, (perId.get(out.id) ?? 0) + 1);
    const group = JSON.parse(r.key!) as string;
    counts.set(group, [...(counts.get(group) ?? []), out.count]);
  }
  const groupsCounted = [...counts].every(([group, seen]) => {
    const members = Array.from({ length: total }, (_, id) => id).filter(
      (id) => `g${id % groups}` === group,
    ).length;
    const sorted = [...seen].sort((x, y) => x - y);
    return sorted.length === members && sorted.every((count, i) => count === i + 1);
  });
  return { ids: perId.size, duplicated: [...perId.values()].filter((n) => n > 1).length, groupsCounted };
}
