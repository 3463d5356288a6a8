import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { StackServiceError } from '../process';

const execFileAsync = promisify(execFile);

/** Debian's Chromium, which the web console's browser tests drive (playwright-core brings no browser). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** How long an install may wait for another apt/dpkg run (two test files may install at once). */
const APT_LOCK_TIMEOUT_SECONDS = 600;

/**
 * The path of a headless-capable Chromium: Debian's `chromium` package, installed with apt-get (as root)
 * when absent. Throws StackServiceError naming the failed step and what to run by hand.
 */
export async function ensureChromium(): Promise<string> {
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
  const apt = async (...args: string[]) =>
    execFileAsync('apt-get', ['-o', `DPkg::Lock::Timeout=${APT_LOCK_TIMEOUT_SECONDS}`, ...args], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      maxBuffer: 64 * 1024 * 1024,
    });
  try {
    // The package lists of a fresh machine may be missing or stale: update first.
    await apt('update');
    await apt('install', '-y', '--no-install-recommends', 'chromium');
  } catch (err) {
    throw new StackServiceError(
      `cannot install Chromium for the browser tests (apt-get install -y chromium, as root): ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (!existsSync(CHROMIUM_PATH))
    throw new StackServiceError(`apt-get installed chromium but ${CHROMIUM_PATH} is missing`);
  return CHROMIUM_PATH;
}
