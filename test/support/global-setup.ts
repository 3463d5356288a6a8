import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../common/logger';
import { LocalStack } from '../../infra/stack';

/**
 * Brings the local stack up for the integration tests (installing it on a fresh machine). If it was
 * already running — a developer's `stacklens stack up` — it is left running afterwards.
 */
export default async function globalSetup(): Promise<void> {
  const stack = new LocalStack(createLogger({ level: 'info', format: 'text', name: 'stack' }));
  const wasUp = await stack.isUp();
  await stack.up();
  writeFileSync(join(stack.settings.runDir, 'started-by-tests'), wasUp ? 'no' : 'yes');
}
