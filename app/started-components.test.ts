import pino from 'pino';
import { StartedComponents } from './started-components';

describe('StartedComponents', () => {
  it('stops newest first, each once', async () => {
    const stopped: string[] = [];
    const started = new StartedComponents();
    for (const name of ['pipeline', 'api', 'delivery'])
      started.add(async () => {
        stopped.push(name);
      });
    await started.stopAll();
    await started.stopAll();
    expect(stopped).toEqual(['delivery', 'api', 'pipeline']);
  });

  it('a stop that fails ends stopAll with its error', async () => {
    const stopped: string[] = [];
    const started = new StartedComponents();
    started.add(async () => void stopped.push('first'));
    started.add(async () => {
      throw new Error('api close failed');
    });
    await expect(started.stopAll()).rejects.toThrow('api close failed');
    expect(stopped).toEqual([]);
  });

  it('after a failed start, runs every stop even when one fails, and logs the failure', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    const stopped: string[] = [];
    const started = new StartedComponents();
    started.add(async () => void stopped.push('first'));
    started.add(async () => {
      throw new Error('archive stop failed');
    });
    started.add(async () => void stopped.push('third'));
    await started.stopAfterFailedStart(log);
    expect(stopped).toEqual(['third', 'first']);
    expect(lines.join('')).toContain('archive stop failed');
  });
});
