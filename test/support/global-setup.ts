import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../common/logger';
import { ensureChromium } from '../../infra/services/chromium';
import { LocalStack } from '../../infra/stack';

/** Where the global setup notes which services it started, for the teardown to stop only those. */
export const STARTED_BY_TESTS_FILE = 'started-by-tests.json';

/**
 * Brings the local stack up for the integration tests (installing it on a fresh machine). Services
 * that were already running — a developer's `stacklens stack up` — are left running afterwards.
 */
export default async function globalSetup(): Promise<void> {
  const logger = createLogger({ level: 'info', format: 'text', name: 'stack' });
  const stack = new LocalStack(logger);
  const started = await stack.up();
  mkdirSync(stack.settings.runDir, { recursive: true });
  writeFileSync(join(stack.settings.runDir, STARTED_BY_TESTS_FILE), JSON.stringify(started));
  // Installed here, once, rather than by browser tests running side by side. A machine where it cannot
  // be installed (not root) still runs every other test; the browser tests then fail saying why.
  await ensureChromium().catch((err: unknown) =>
    logger.warn({ err: (err as Error).message }, 'Chromium unavailable: the web console tests will fail'),
  );
}
