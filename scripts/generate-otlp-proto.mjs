// Generates the OTLP protobuf code StackLens decodes and encodes with, at install time (`npm install`
// runs it from `prepare`, before tsc), from the official opentelemetry-proto `.proto` files.
//
// Why this way: the only registry artifact that ships the `.proto` files of a current opentelemetry-proto
// release is the Maven jar io.opentelemetry.proto:opentelemetry-proto (built from the proto repository's
// tags; npm packages ship generated code of older releases). Maven resolves it into the stack cache (as
// infra/services/maven.ts does for Kafka), and protobufjs-cli compiles it to static code (pbjs) with its
// TypeScript declarations (pbts) in processors/otlp/generated/, which git ignores. The output is
// regenerated only when the release or this script changes.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The opentelemetry-proto release; its Java artifact carries the `-alpha` suffix. */
const OTLP_PROTO_VERSION = '1.11.0';
/** openzipkin's zipkin-api proto3 model (zipkin.proto), for the kafka exporter's `zipkin_proto` encoding. */
const ZIPKIN_PROTO3_VERSION = '1.0.0';

/** The messages of the logs and traces export requests and responses, and what they import. */
const PROTO_FILES = [
  'opentelemetry/proto/common/v1/common.proto',
  'opentelemetry/proto/resource/v1/resource.proto',
  'opentelemetry/proto/logs/v1/logs.proto',
  'opentelemetry/proto/trace/v1/trace.proto',
  'opentelemetry/proto/collector/logs/v1/logs_service.proto',
  'opentelemetry/proto/collector/trace/v1/trace_service.proto',
];

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'processors', 'otlp', 'generated');
const stamp = `${OTLP_PROTO_VERSION} ${ZIPKIN_PROTO3_VERSION} ${createHash('sha256')
  .update(readFileSync(fileURLToPath(import.meta.url)))
  .digest('hex')}`;
const stampFile = join(outDir, '.generated');

function run(command, args, options = {}) {
  execFileSync(command, args, { stdio: ['ignore', 'inherit', 'inherit'], ...options });
}

if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) process.exit(0);

const cacheDir = join(resolve(root, process.env.STACK_DIR ?? '.stack'), 'cache');

/** Resolves a jar with Maven into the stack cache (once) and unpacks it; returns the folder. */
function unpackedJar(groupId, artifactId, version) {
  const jarDir = join(cacheDir, 'proto-jars', `${artifactId}-${version}`);
  const jar = join(jarDir, `${artifactId}-${version}.jar`);
  if (!existsSync(jar)) {
    mkdirSync(jarDir, { recursive: true });
    run(
      'mvn',
      [
        '-B',
        '-q',
        '-Dstyle.color=never',
        `-Dmaven.repo.local=${join(cacheDir, 'm2')}`,
        'dependency:copy',
        `-Dartifact=${groupId}:${artifactId}:${version}:jar`,
        `-DoutputDirectory=${jarDir}`,
      ],
      { cwd: jarDir },
    );
  }
  // The jar is a zip; Python's zipfile is on every machine the project supports (JDKs may lack `jar`).
  const protoDir = join(jarDir, 'proto');
  rmSync(protoDir, { recursive: true, force: true });
  run('python3', ['-m', 'zipfile', '-e', jar, protoDir]);
  return protoDir;
}

const otlpDir = unpackedJar('io.opentelemetry.proto', 'opentelemetry-proto', `${OTLP_PROTO_VERSION}-alpha`);
for (const file of PROTO_FILES) {
  if (!existsSync(join(otlpDir, file)))
    throw new Error(`opentelemetry-proto ${OTLP_PROTO_VERSION} lacks ${file}`);
}
const zipkinDir = unpackedJar('io.zipkin.proto3', 'zipkin-proto3', ZIPKIN_PROTO3_VERSION);

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
const bin = (name) => join(root, 'node_modules', 'protobufjs-cli', 'bin', name);

/** Static code and declarations for `files` under `protoDir`, as `<name>.js` / `<name>.d.ts`. */
function generate(name, rootName, protoDir, files) {
  const js = join(outDir, `${name}.js`);
  run(process.execPath, [
    bin('pbjs'),
    '--target',
    'static-module',
    '--wrap',
    'commonjs',
    // Its own entry in protobufjs' registry of roots: the default one holds the OpenTelemetry JS SDK's older
    // generated code (the demo's exporters load it), and whichever loads last would replace the other's.
    '--root',
    rootName,
    '--path',
    protoDir,
    // Messages only: StackLens serves OTLP/HTTP, not the gRPC services.
    '--no-service',
    '--no-delimited',
    '--no-typeurl',
    '--out',
    js,
    ...files.map((file) => join(protoDir, file)),
  ]);
  run(process.execPath, [bin('pbts'), '--no-comments', '--out', join(outDir, `${name}.d.ts`), js]);
}

generate('otlp', 'stacklens_otlp', otlpDir, PROTO_FILES);
generate('zipkin', 'stacklens_zipkin', zipkinDir, ['zipkin.proto']);
writeFileSync(stampFile, stamp);
console.log(
  `generated OTLP ${OTLP_PROTO_VERSION} and Zipkin proto3 ${ZIPKIN_PROTO3_VERSION} code in ${outDir}`,
);
