// Builds the web console into one folder the API serves (api/routes/console-routes.ts): index.html and
// assets/ with content-hashed names. Run by `npm run build:web` (part of `prepare`, so `npm install`
// builds it); `--out <dir>` builds elsewhere (the browser tests build their own copy).
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const outFlag = process.argv.indexOf('--out');
const outDir = resolve(outFlag >= 0 ? process.argv[outFlag + 1] : join(here, '..', 'dist', 'web'));
const assets = join(outDir, 'assets');

rmSync(outDir, { recursive: true, force: true });
mkdirSync(assets, { recursive: true });

const result = await build({
  entryPoints: [join(here, 'src', 'main.tsx')],
  outdir: assets,
  bundle: true,
  splitting: true, // the charts (uPlot) load with the page that shows them
  format: 'esm',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  entryNames: '[name]-[hash]',
  chunkNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  metafile: true,
  logLevel: 'warning',
});

const outputs = Object.entries(result.metafile.outputs);
const entry = outputs.find(([, o]) => o.entryPoint !== undefined && o.entryPoint.endsWith('main.tsx'));
if (entry === undefined) throw new Error('esbuild produced no entry script');
const script = basename(entry[0]);
const css = entry[1].cssBundle === undefined ? undefined : basename(entry[1].cssBundle);

// Relative URLs: the console works at / and behind a proxy that mounts the API under a path.
const html = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="referrer" content="no-referrer" />
    <title>StackLens</title>
    <link rel="icon" href="data:," />
${css === undefined ? '' : `    <link rel="stylesheet" href="assets/${css}" />\n`}    <script type="module" src="assets/${script}"></script>
  </head>
  <body>
    <div id="app"></div>
    <noscript>The StackLens console needs JavaScript.</noscript>
  </body>
</html>
`;
writeFileSync(join(outDir, 'index.html'), html);

let total = 0;
for (const [file] of outputs) {
  const size = statSync(file).size;
  total += size;
  console.log(`web console: ${relative(process.cwd(), file)} ${(size / 1024).toFixed(1)} KiB`);
}
console.log(`web console: ${(total / 1024).toFixed(1)} KiB in ${relative(process.cwd(), outDir) || '.'}`);
