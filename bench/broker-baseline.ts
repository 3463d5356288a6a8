import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { StackLensError } from '../common/errors';
import { KAFKA_VERSION } from '../infra/services/kafka';
import { findJava } from '../infra/services/java';
import type { StackSettings } from '../infra/stack-settings';

const execFileAsync = promisify(execFile);

/** The broker's own consumer benchmark (what `kafka-consumer-perf-test.sh` runs). */
const CONSUMER_PERFORMANCE = 'org.apache.kafka.tools.ConsumerPerformance';
/** Kafka 4 tools need Java 17, like the broker. */
const JAVA_MAJOR = 17;

/** The tool failed, or consumed fewer records than asked (its figures would then include an idle wait). */
export class BrokerBaselineError extends StackLensError {}

export interface BrokerBaselineOptions {
  /** Where the local stack's Kafka jars and Java live (`stackSettingsFromEnv()`). */
  settings: StackSettings;
  /** `host:port` of a broker. */
  bootstrap: string;
  topics: readonly string[];
  /** Records to consume; default: every record the topics hold now (end minus start offsets). */
  records?: number;
  /** Longest wait between two fetched batches before the tool gives up (default 10 s, the tool's own). */
  idleTimeoutMs?: number;
  /** Bound on the whole run. Default 10 minutes. */
  timeoutMs?: number;
}

/** The figures ConsumerPerformance prints, named. */
export interface BrokerBaseline {
  records: number;
  megabytes: number;
  /** From the consumer's start to its last record, including joining the group. */
  elapsedMs: number;
  recordsPerSecond: number;
  megabytesPerSecond: number;
  /** Time to join the group and get partitions assigned. */
  rebalanceMs: number;
  /** elapsedMs without rebalanceMs: the time spent fetching. */
  fetchMs: number;
  /** Rates over fetchMs only: the broker's delivery rate, the fairer denominator for pipeline ratios. */
  fetchRecordsPerSecond: number;
  fetchMegabytesPerSecond: number;
}

/**
 * Runs the broker's consumer benchmark from the local stack's Kafka jars against `topics` with a fresh
 * consumer group (so it reads from the earliest offsets), parses its figures and deletes the group.
 * A benchmark divides a pipeline's throughput on the same topics by these to print how close it gets.
 */
export async function runBrokerBaseline(options: BrokerBaselineOptions): Promise<BrokerBaseline> {
  if (options.topics.length === 0) throw new BrokerBaselineError('no topics to read');
  const kafka = new Kafka({
    clientId: 'stacklens-broker-baseline',
    brokers: [options.bootstrap],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `stacklens-broker-baseline-${randomUUID()}`;
  try {
    const records = options.records ?? (await recordsHeld(admin, options.topics));
    if (records <= 0) throw new BrokerBaselineError(`topics ${options.topics.join(', ')} hold no records`);
    const java = await findJava(JAVA_MAJOR, options.settings.cacheDir);
    const libs = join(options.settings.cacheDir, `kafka-${KAFKA_VERSION}`, 'libs');
    const args = [
      '-Xmx512m',
      '-cp',
      join(libs, '*'),
      CONSUMER_PERFORMANCE,
      '--bootstrap-server',
      options.bootstrap,
      '--include',
      `^(${options.topics.map(escapeRegExp).join('|')})$`,
      '--num-records',
      String(records),
      '--group',
      groupId,
      '--timeout',
      String(options.idleTimeoutMs ?? 10_000),
    ];
    let stdout: string;
    try {
      ({ stdout } = await execFileAsync(java, args, {
        timeout: options.timeoutMs ?? 600_000,
        maxBuffer: 16 * 1024 * 1024,
      }));
    } catch (err) {
      const failure = err as { stdout?: string; stderr?: string; message: string };
      throw new BrokerBaselineError(
        `${CONSUMER_PERFORMANCE} failed: ${failure.message}\n${tail(`${failure.stdout ?? ''}${failure.stderr ?? ''}`)}`,
        { cause: err },
      );
    }
    const baseline = parseConsumerPerformance(stdout);
    if (baseline.records < records) {
      throw new BrokerBaselineError(
        `${CONSUMER_PERFORMANCE} consumed ${baseline.records} of ${records} records before its idle timeout`,
      );
    }
    return baseline;
  } finally {
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

/**
 * Parses ConsumerPerformance's report: a header line of comma-separated names, then one line of values
 * (other lines, such as its warnings, are skipped).
 */
export function parseConsumerPerformance(output: string): BrokerBaseline {
  const lines = output.split('\n').map((l) => l.trim());
  const headerAt = lines.findIndex((l) => l.startsWith('start.time,'));
  const names = headerAt < 0 ? [] : lines[headerAt]!.split(',').map((n) => n.trim());
  const row = lines.slice(headerAt + 1).find((l) => l.split(',').length === names.length);
  if (headerAt < 0 || row === undefined) {
    throw new BrokerBaselineError(`unexpected ${CONSUMER_PERFORMANCE} output:\n${tail(output)}`);
  }
  const values = new Map(names.map((name, i) => [name, row.split(',')[i]!.trim()]));
  const number = (name: string): number => {
    const value = Number(values.get(name));
    if (!Number.isFinite(value)) {
      throw new BrokerBaselineError(
        `${CONSUMER_PERFORMANCE} reported no number for ${name}:\n${tail(output)}`,
      );
    }
    return value;
  };
  const rebalanceMs = number('rebalance.time.ms');
  const fetchMs = number('fetch.time.ms');
  return {
    records: number('data.consumed.in.nMsg'),
    megabytes: number('data.consumed.in.MB'),
    elapsedMs: rebalanceMs + fetchMs,
    recordsPerSecond: number('nMsg.sec'),
    megabytesPerSecond: number('MB.sec'),
    rebalanceMs,
    fetchMs,
    fetchRecordsPerSecond: number('fetch.nMsg.sec'),
    fetchMegabytesPerSecond: number('fetch.MB.sec'),
  };
}

async function recordsHeld(admin: Admin, topics: readonly string[]): Promise<number> {
  let total = 0;
  for (const topic of topics) {
    for (const p of await admin.fetchTopicOffsets(topic)) total += Number(p.high) - Number(p.low);
  }
  return total;
}

function escapeRegExp(topic: string): string {
  return topic.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function tail(text: string, lines = 20): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}
