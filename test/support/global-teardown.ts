import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../common/logger';
import { LocalStack } from '../../infra/stack';
import { STARTED_BY_TESTS_FILE } from './global-setup';

/** Stops only the services the global setup started. */
export default async function globalTeardown(): Promise<void> {
  const stack = new LocalStack(createLogger({ level: 'info', format: 'text', name: 'stack' }));
  const marker = join(stack.settings.runDir, STARTED_BY_TESTS_FILE);
  const started = existsSync(marker) ? (JSON.parse(readFileSync(marker, 'utf8')) as string[]) : [];
  rmSync(marker, { force: true });
  if (started.length > 0) await stack.down({ only: started });
}
