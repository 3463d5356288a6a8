import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../common/logger';
import { LocalStack } from '../../infra/stack';

/** Where the global setup notes which services it started, for the teardown to stop only those. */
export const STARTED_BY_TESTS_FILE = 'started-by-tests.json';

/**
 * Brings the local stack up for the integration tests (installing it on a fresh machine). Services
 * that were already running — a developer's `stacklens stack up` — are left running afterwards.
 */
export default async function globalSetup(): Promise<void> {
  const stack = new LocalStack(createLogger({ level: 'info', format: 'text', name: 'stack' }));
  const started = await stack.up();
  mkdirSync(stack.settings.runDir, { recursive: true });
  writeFileSync(join(stack.settings.runDir, STARTED_BY_TESTS_FILE), JSON.stringify(started));
}
