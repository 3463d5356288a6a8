import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../common/logger';
import { LocalStack } from '../../infra/stack';

/** Stops the stack only if the global setup started it. */
export default async function globalTeardown(): Promise<void> {
  const stack = new LocalStack(createLogger({ level: 'info', format: 'text', name: 'stack' }));
  const marker = join(stack.settings.runDir, 'started-by-tests');
  const startedByTests = existsSync(marker) && readFileSync(marker, 'utf8') === 'yes';
  rmSync(marker, { force: true });
  if (startedByTests) await stack.down();
}
