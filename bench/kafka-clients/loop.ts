import { performance } from 'node:perf_hooks';

/** The clients compared, by npm package name. */
export const CLIENTS = ['kafkajs', '@platformatic/kafka', '@confluentinc/kafka-javascript'] as const;
export type ClientName = (typeof CLIENTS)[number];

/**
 * When outputs are produced. `at-commit`: held, and sent in the transaction at the interval's end (what the
 * runtime does today). `as-made`: sent in the open transaction as they are made, while consumption goes
 * on (issue 10's commit interval); the commit then waits for them, sends the offsets and ends the
 * transaction.
 */
export const PRODUCE_MODES = ['at-commit', 'as-made'] as const;
export type ProduceMode = (typeof PRODUCE_MODES)[number];

/** What one consume → transform → produce run is given. Every client gets the same. */
export interface LoopOptions {
  /** `host:port` of one broker. */
  broker: string;
  inputTopic: string;
  outputTopic: string;
  /** A fresh group per run, so that each run reads the input from its first offset. */
  groupId: string;
  transactionalId: string;
  /** Records the input holds: the run ends when that many are committed. */
  records: number;
  /** A transaction is committed once this long has passed since the previous one (Kafka Streams: 100 ms). */
  commitIntervalMs: number;
  produce: ProduceMode;
  /**
   * Records per produce request where the client does not split requests itself (kafkajs, @platformatic/kafka):
   * one request holding a whole interval would pass the broker's 1 MiB `max.message.bytes` on a partition.
   * librdkafka splits its queue into batches by itself.
   */
  recordsPerSend: number;
}

/** What one run measured, from its first record to its last commit (group join excluded). */
export interface LoopResult {
  records: number;
  transactions: number;
  /** From connecting the clients to the first record received: connection, group join, first fetch. */
  startMs: number;
  elapsedMs: number;
  /** Time spent in commits (produce the interval's outputs, TxnOffsetCommit, EndTxn), consumption waiting. */
  commitMs: number;
  /** process.cpuUsage() over the same window: JavaScript and, for librdkafka, its own threads. */
  cpuUserMs: number;
  cpuSystemMs: number;
}

/** The transform applied to every record: cheap and the same for all, so that the client's cost shows. */
export function transform(value: Buffer | null | undefined): Buffer {
  return Buffer.concat([TRANSFORM_PREFIX, value ?? EMPTY]);
}
const TRANSFORM_PREFIX = Buffer.from('{"t":"stacklens"}');
const EMPTY = Buffer.alloc(0);

/**
 * Counts received and committed records of one run and takes the time and CPU figures; `done` resolves
 * when every input record has been committed (offsets in a committed transaction).
 */
export class Meter {
  readonly done: Promise<LoopResult>;
  private readonly startedAt = performance.now();
  private firstRecordAt: number | undefined;
  private cpuAtFirstRecord: NodeJS.CpuUsage | undefined;
  private committed = 0;
  private transactions = 0;
  private commitMs = 0;
  private resolve!: (result: LoopResult) => void;
  private reject!: (error: unknown) => void;

  constructor(private readonly total: number) {
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** Ends the run with `error` (a failed transaction): the benchmark reports it instead of waiting. */
  fail(error: unknown): void {
    this.reject(error);
  }

  received(): void {
    if (this.firstRecordAt !== undefined) return;
    this.firstRecordAt = performance.now();
    this.cpuAtFirstRecord = process.cpuUsage();
  }

  /**
   * Called after each committed transaction with the number of input records whose offsets it committed
   * and the time (performance.now()) at which the commit started.
   */
  committedRecords(count: number, commitStartedAt: number): void {
    this.committed += count;
    this.transactions += 1;
    this.commitMs += performance.now() - commitStartedAt;
    if (this.committed < this.total || this.firstRecordAt === undefined) return;
    const cpu = process.cpuUsage(this.cpuAtFirstRecord);
    this.resolve({
      records: this.committed,
      transactions: this.transactions,
      startMs: this.firstRecordAt - this.startedAt,
      elapsedMs: performance.now() - this.firstRecordAt,
      commitMs: this.commitMs,
      cpuUserMs: cpu.user / 1_000,
      cpuSystemMs: cpu.system / 1_000,
    });
  }
}

/** True when the commit interval has passed since `lastCommitAt`, or every input record has been received. */
export function commitDue(options: LoopOptions, lastCommitAt: number, received: number): boolean {
  return received >= options.records || performance.now() - lastCommitAt >= options.commitIntervalMs;
}

/** `as-made`: sends in flight (or queued) beyond which consumption waits, so that memory stays bounded. */
export const MAX_SENDS_IN_FLIGHT = 8;

/** `items` in slices of at most `size`. */
export function slices<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
