/**
 * CPU of kafkajs's produce request encoding, as installed (patches/kafkajs+2.2.4.patch): one
 * transactional request of `--partitions` record batches of `--records` records of `--bytes` each, the
 * shape of the pipeline's sends. CPU only, no broker: a figure to compare within one machine and run,
 * never asserted. Compare with kafkajs as published by reverting the patch around a run:
 *
 *   npm run build && node dist/bench/kafkajs-encode.js
 *   npx patch-package --reverse && node dist/bench/kafkajs-encode.js; npx patch-package
 */
import { parseArgs } from 'node:util';

interface ProduceRequest {
  encode(): Promise<{ buffer: Buffer }>;
}
/* eslint-disable @typescript-eslint/no-require-imports -- kafkajs's internal protocol modules, untyped */
const produceRequest = require('kafkajs/src/protocol/requests/produce/v3/request') as (args: {
  acks: number;
  timeout: number;
  transactionalId: string;
  producerId: unknown;
  producerEpoch: number;
  topicData: {
    topic: string;
    partitions: { partition: number; firstSequence: number; messages: unknown[] }[];
  }[];
}) => ProduceRequest;
const Long = require('kafkajs/src/utils/long') as { fromInt(value: number): unknown };
/* eslint-enable @typescript-eslint/no-require-imports */

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '500' },
    partitions: { type: 'string', default: '3' },
    bytes: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '5' },
  },
});
const records = Number(values.records);
const partitions = Number(values.partitions);
const value = Buffer.alloc(Number(values.bytes), 'v');
const timestamp = Date.now();
const messages = Array.from({ length: records }, (_, i) => ({
  key: Buffer.from(`trace-${i}`),
  value,
  timestamp,
  headers: { 'stacklens.source': 'otel-logs-0' },
}));
const request = (): ProduceRequest =>
  produceRequest({
    acks: -1,
    timeout: 30_000,
    transactionalId: 'bench',
    producerId: Long.fromInt(1),
    producerEpoch: 0,
    topicData: [
      {
        topic: 'bench',
        partitions: Array.from({ length: partitions }, (_, partition) => ({
          partition,
          firstSequence: 0,
          messages,
        })),
      },
    ],
  });

async function main(): Promise<void> {
  const perRound = 100;
  for (let i = 0; i < perRound; i++) await request().encode(); // warm-up: JIT and buffer pools
  const cpuUs: number[] = [];
  for (let round = 0; round < Number(values.rounds); round++) {
    const before = process.cpuUsage();
    for (let i = 0; i < perRound; i++) await request().encode();
    const used = process.cpuUsage(before);
    cpuUs.push((used.user + used.system) / perRound);
  }
  const best = Math.min(...cpuUs);
  console.log(
    `kafkajs produce request of ${partitions} × ${records} records of ${value.length} bytes: ` +
      `${(best / 1_000).toFixed(2)} ms of CPU (best of ${cpuUs.length} rounds), ` +
      `${((best * 1_000) / (partitions * records)).toFixed(0)} ns per record`,
  );
}

void main();
