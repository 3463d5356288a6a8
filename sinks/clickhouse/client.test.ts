import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

describe('createQueryClickHouse', () => {
  it('does not load the embedded engine for a ClickHouse server (chDB maps ~150 MiB as it loads)', () => {
    // A fresh process, since this one may have loaded chDB for another test.
    const script = `
      require('ts-node').register({ transpileOnly: true, swc: true });
      const { createQueryClickHouse } = require(${JSON.stringify(join(__dirname, 'client.ts'))});
      createQueryClickHouse({
        url: 'http://127.0.0.1:8123', database: 'stacklens', chdbPath: '/nonexistent',
        maxOpenConnections: 1, requestTimeoutMs: 1000,
      });
      const engine = [require.resolve('chdb'), require.resolve('chdb/connection')];
      console.log(JSON.stringify({ engine, loaded: Object.keys(require.cache) }));
    `;
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
    // On failure, the diff shows the child's stderr.
    expect(run).toMatchObject({ status: 0 });
    const { engine, loaded } = JSON.parse(run.stdout) as { engine: string[]; loaded: string[] };
    expect(engine).toHaveLength(2);
    for (const file of engine) expect(loaded).not.toContain(file);
    expect(loaded).toContain(join(__dirname, 'client.ts'));
  });
});
