import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Where `npm run build:web` puts the web console: dist/web under the package root, found from this
 * module whether it runs compiled (dist/app) or from source (app/, under jest or ts-node).
 */
export function defaultConsoleDir(from: string = __dirname): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return join(dir, 'dist', 'web');
}
