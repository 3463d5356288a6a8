import { spawn } from 'node:child_process';
import { stackCpuBetween } from './stack-cpu';
import { processCpuMs } from './cpu-window';

describe('stackCpuBetween', () => {
  it('gives what each service spent between two readings; a restarted or new service is left out', () => {
    const from = new Map([
      ['kafka', { pid: 10, ms: 1_000 }],
      ['s3', { pid: 20, ms: 300 }],
    ]);
    const to = new Map([
      ['kafka', { pid: 10, ms: 4_500 }],
      ['s3', { pid: 21, ms: 50 }],
      ['schema-registry', { pid: 30, ms: 700 }],
    ]);
    expect(stackCpuBetween(from, to)).toEqual({ kafka: 3_500 });
  });
});

describe('processCpuMs', () => {
  it('reads another process’s CPU time, and null for a process that is gone', async () => {
    // A child that spends CPU until it has used 100 ms of its own (a condition, not a clock).
    const child = spawn(process.execPath, [
      '-e',
      `const f = process.cpuUsage(); let x = 0;
       for (;;) { for (let i = 0; i < 100000; i++) x += Math.sqrt(i);
         const s = process.cpuUsage(f); if ((s.user + s.system) / 1000 >= 100) break; }
       process.stdout.write('done'); setInterval(() => {}, 1000);`,
    ]);
    await new Promise((resolve) => child.stdout.once('data', resolve));
    const pid = child.pid!;
    if (process.platform === 'linux') expect(processCpuMs(pid)).toBeGreaterThanOrEqual(100);
    else expect(processCpuMs(pid)).toBeNull();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(processCpuMs(pid)).toBeNull();
  });
});
