import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../common/logger';
import { pidLifecycle } from './pid-lifecycle';
import { startDetached, StackServiceError } from './process';
import { stackSettingsFromEnv } from './stack-settings';

describe('pidLifecycle', () => {
  const root = mkdtempSync(join(tmpdir(), 'pid-lifecycle-'));
  const settings = stackSettingsFromEnv({}, root);
  const paths = {
    pidFile: join(settings.runDir, 'sleeper.pid'),
    logFile: join(settings.logDir, 'sleeper.log'),
    data: join(settings.dataDir, 'sleeper'),
  };
  const lifecycle = pidLifecycle({
    name: 'sleeper',
    title: 'the sleeper',
    paths: () => paths,
    endpoint: () => 'nowhere:0',
    stopGraceMs: 5_000,
  });
  const ctx = { settings, log: createLogger({ level: 'silent', format: 'json' }) };

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('reports, refuses to wipe while running, stops by PID, then wipes', async () => {
    mkdirSync(paths.data, { recursive: true });
    expect((await lifecycle.status(ctx)).running).toBe(false);

    const pid = startDetached({
      command: 'sleep',
      args: ['60'],
      logFile: paths.logFile,
      pidFile: paths.pidFile,
    });
    expect(await lifecycle.status(ctx)).toEqual({
      name: 'sleeper',
      running: true,
      pid,
      endpoint: 'nowhere:0',
      logFile: paths.logFile,
    });
    await expect(lifecycle.wipe(ctx)).rejects.toThrow(StackServiceError);
    expect(existsSync(paths.data)).toBe(true);

    await lifecycle.stop(ctx);
    expect((await lifecycle.status(ctx)).running).toBe(false);
    await lifecycle.wipe(ctx);
    expect(existsSync(paths.data)).toBe(false);
  });
});
