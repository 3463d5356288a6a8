/**
 * Transactional consume → transform → produce with each Kafka client on the same input, several rounds
 * in one run (compare within a run: the machine is shared). See bench/kafka-clients/README.md.
 *
 *   npm run build && npm run bench:clients -- --records 200000 --size 300 --rounds 3
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { BenchError } from '../errors';
import { perSecond } from '../stats';
import { loadConfluent, runConfluentLoop } from './confluent-loop';
import { runKafkajsLoop } from './kafkajs-loop';
import {
  CLIENTS,
  PRODUCE_MODES,
  type ClientName,
  type LoopOptions,
  type LoopResult,
  type ProduceMode,
} from './loop';
import { runPlatformaticLoop } from './platformatic-loop';

interface BenchOptions {
  broker: string;
  records: number;
  size: number;
  partitions: number;
  rounds: number;
  commitIntervalMs: number;
  produce: ProduceMode;
  recordsPerSend: number;
  /** The clients to run, in this order in the first round (default: all). */
  clients: ClientName[];
  /** Bound on one client's run; a run that takes longer fails the benchmark. */
  timeoutMs: number;
}

interface ChildRequest {
  client: ClientName;
  loop: LoopOptions;
}
type ChildReply = { ok: true; result: LoopResult } | { ok: false; error: string };

function produceMode(text: string): ProduceMode {
  const mode = PRODUCE_MODES.find((m) => m === text);
  if (mode === undefined)
    throw new BenchError(`--produce must be one of ${PRODUCE_MODES.join(', ')}, got "${text}"`);
  return mode;
}

function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      broker: { type: 'string', default: '127.0.0.1:9092' },
      records: { type: 'string', default: '200000' },
      size: { type: 'string', default: '300' },
      partitions: { type: 'string', default: '3' },
      rounds: { type: 'string', default: '3' },
      'commit-interval-ms': { type: 'string', default: '100' },
      'timeout-ms': { type: 'string', default: '300000' },
      clients: { type: 'string', default: CLIENTS.join(',') },
      produce: { type: 'string', default: 'as-made' },
      'records-per-send': { type: 'string', default: '1000' },
    },
  });
  const positive = (name: string, text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n <= 0)
      throw new BenchError(`--${name} must be a positive integer, got "${text}"`);
    return n;
  };
  return {
    broker: values.broker,
    records: positive('records', values.records),
    size: positive('size', values.size),
    partitions: positive('partitions', values.partitions),
    rounds: positive('rounds', values.rounds),
    commitIntervalMs: positive('commit-interval-ms', values['commit-interval-ms']),
    timeoutMs: positive('timeout-ms', values['timeout-ms']),
    produce: produceMode(values.produce),
    recordsPerSend: positive('records-per-send', values['records-per-send']),
    clients: values.clients.split(',').map((name) => {
      const client = CLIENTS.find((c) => c === name.trim());
      if (client === undefined)
        throw new BenchError(`--clients: unknown client "${name}" (known: ${CLIENTS.join(', ')})`);
      return client;
    }),
  };
}

/** Writes `records` records of about `size` bytes, keyed so that every partition gets a share. */
async function produceInput(kafka: Kafka, topic: string, records: number, size: number): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    const padding = 'x'.repeat(Math.max(0, size - 80));
    for (let start = 0; start < records; start += 2_000) {
      const messages = [];
      for (let i = start; i < Math.min(records, start + 2_000); i++) {
        const value = JSON.stringify({ i, service: `service-${i % 17}`, trace: randomUUID(), body: padding });
        messages.push({ key: `k${i}`, value });
      }
      await producer.send({ topic, messages, acks: -1 });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Runs one client's loop in a child process, so that each run has the process (and its CPU figures) to itself. */
function runInChild(request: ChildRequest, timeoutMs: number): Promise<LoopResult> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['--child', JSON.stringify(request)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let reply: ChildReply | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new BenchError(`${request.client} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', (message: ChildReply) => (reply = message));
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (reply?.ok) resolve(reply.result);
      else
        reject(
          new BenchError(
            `${request.client} failed (exit ${code}): ${reply?.ok === false ? reply.error : 'no result'}`,
          ),
        );
    });
  });
}

/** An error's message with its causes and, for an AggregateError (@platformatic/kafka), the errors it holds. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const inner = error instanceof AggregateError ? error.errors.map(describe) : [];
  if (error.cause !== undefined) inner.push(describe(error.cause));
  return [`${error.name}: ${error.message}`, ...inner.map((m) => `  ${m.replace(/\n/g, '\n  ')}`)].join('\n');
}

async function runChild(request: ChildRequest): Promise<void> {
  const reply = (r: ChildReply): Promise<void> =>
    new Promise((resolve) => process.send?.(r, () => resolve()));
  try {
    let result: LoopResult;
    if (request.client === 'kafkajs') result = await runKafkajsLoop(request.loop);
    else if (request.client === '@platformatic/kafka') result = await runPlatformaticLoop(request.loop);
    else {
      const confluent = await loadConfluent();
      if (confluent === undefined) throw new BenchError('@confluentinc/kafka-javascript is not installed');
      result = await runConfluentLoop(confluent, request.loop);
    }
    await reply({ ok: true, result });
  } catch (error) {
    await reply({ ok: false, error: describe(error) });
  }
  // librdkafka and kafkajs timers may outlive disconnect by a few seconds; the figures are taken.
  process.exit(0);
}

/** The run committed every input offset: the group's committed offsets equal the input's end offsets. */
async function checkCommitted(admin: Admin, groupId: string, topic: string): Promise<void> {
  const ends = await admin.fetchTopicOffsets(topic);
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
  for (const { partition, high } of ends) {
    const offset = committed?.partitions.find((p) => p.partition === partition)?.offset;
    if (offset !== high)
      throw new BenchError(`${groupId}: partition ${partition} committed ${offset}, end ${high}`);
  }
}

interface Row {
  round: number;
  client: ClientName;
  result: LoopResult;
}

function format(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function printRow({ round, client, result }: Row): void {
  const cpuMs = result.cpuUserMs + result.cpuSystemMs;
  console.log(
    [
      `round ${round}`,
      client.padEnd(31),
      `${format(perSecond(result.records, result.elapsedMs)).padStart(8)} rec/s`,
      `${format(result.elapsedMs).padStart(7)} ms (commits ${format(result.commitMs).padStart(6)} ms)`,
      `cpu ${format(cpuMs).padStart(7)} ms (${format((cpuMs * 1_000) / result.records, 1)} µs/rec, ${format((cpuMs / result.elapsedMs) * 100)} % of a core)`,
      `${result.transactions} txns`,
      `start ${format(result.startMs)} ms`,
    ].join('  '),
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const confluent = await loadConfluent();
  const clients = options.clients.filter(
    (c) => c !== '@confluentinc/kafka-javascript' || confluent !== undefined,
  );
  console.log(
    `kafka clients: ${options.records} records of ~${options.size} B, ${options.partitions} partitions, ` +
      `${options.rounds} rounds, one transaction per ${options.commitIntervalMs} ms, outputs produced ${options.produce} ` +
      `(kafkajs, @platformatic/kafka: ${options.recordsPerSend} records per send), ` +
      `broker ${options.broker}`,
  );
  console.log(
    confluent === undefined
      ? '@confluentinc/kafka-javascript: not installed (see bench/kafka-clients/README.md)'
      : `@confluentinc/kafka-javascript: librdkafka ${confluent.librdkafkaVersion}`,
  );

  const kafka = new Kafka({ clientId: 'bench-clients', brokers: [options.broker], logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  await admin.connect();
  const runId = randomUUID().slice(0, 8);
  const inputTopic = `stacklens-bench-clients-${runId}-in`;
  const outputTopic = `stacklens-bench-clients-${runId}-out`;
  const groups: string[] = [];
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [inputTopic, outputTopic].map((topic) => ({ topic, numPartitions: options.partitions })),
    });
    await produceInput(kafka, inputTopic, options.records, options.size);
    const rows: Row[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      // Each round starts with another client, so that no client always runs first (or last).
      const order = clients.map((_, i) => clients[(i + round - 1) % clients.length] as ClientName);
      for (const client of order) {
        const id = `stacklens-bench-clients-${runId}-${client.replace(/[^a-z]/g, '')}-${round}`;
        groups.push(id);
        const loop: LoopOptions = {
          broker: options.broker,
          inputTopic,
          outputTopic,
          groupId: id,
          transactionalId: id,
          records: options.records,
          commitIntervalMs: options.commitIntervalMs,
          produce: options.produce,
          recordsPerSend: options.recordsPerSend,
        };
        const result = await runInChild({ client, loop }, options.timeoutMs);
        await checkCommitted(admin, id, inputTopic);
        const row = { round, client, result };
        rows.push(row);
        printRow(row);
      }
    }
    console.log('median over rounds:');
    for (const client of clients) {
      const mine = rows.filter((r) => r.client === client).map((r) => r.result);
      const rate = median(mine.map((r) => perSecond(r.records, r.elapsedMs)));
      const cpuPerRecord = median(mine.map((r) => ((r.cpuUserMs + r.cpuSystemMs) * 1_000) / r.records));
      console.log(
        `  ${client.padEnd(31)} ${format(rate).padStart(8)} rec/s  ${format(cpuPerRecord, 1)} µs CPU/rec`,
      );
    }
  } finally {
    await admin
      .deleteGroups(groups)
      .catch((e: unknown) => console.warn(`could not delete the groups: ${String(e)}`));
    await admin
      .deleteTopics({ topics: [inputTopic, outputTopic] })
      .catch((e: unknown) => console.warn(`could not delete the topics: ${String(e)}`));
    await admin.disconnect();
  }
}

const childAt = process.argv.indexOf('--child');
if (childAt >= 0) {
  void runChild(JSON.parse(process.argv[childAt + 1] ?? '') as ChildRequest);
} else {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
