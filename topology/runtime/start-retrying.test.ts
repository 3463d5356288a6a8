import { KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { createLogger } from '../../common/logger';
import { retryWhileNotReady, startRetrying, type Startable } from './start-retrying';

const log = createLogger({ level: 'silent', format: 'json' });

/** kafkajs's error for a protocol error code, as its decoders throw it. */
function protocolError(type: string, code: number): KafkaJSProtocolError {
  return new KafkaJSProtocolError(Object.assign(new Error(type), { type, code, retriable: true }));
}

/** Applications whose starts fail with the given errors in turn, then succeed; records what happened. */
function scripted(failures: unknown[]) {
  const events: string[] = [];
  let made = 0;
  const create = (): Startable => {
    const n = ++made;
    return {
      start: () => {
        events.push(`start ${n}`);
        const failure = failures.shift();
        return failure === undefined ? Promise.resolve() : Promise.reject(failure);
      },
      stop: () => {
        events.push(`stop ${n}`);
        return Promise.resolve();
      },
    };
  };
  return { create, events };
}

describe('startRetrying', () => {
  it('starts a fresh application after one whose start met a topic the broker did not serve yet', async () => {
    const { create, events } = scripted([
      protocolError('UNKNOWN_TOPIC_OR_PARTITION', 3),
      protocolError('GROUP_LOAD_IN_PROGRESS', 14),
    ]);
    await startRetrying(create, { log, backoffMs: 1 });
    expect(events).toEqual(['start 1', 'stop 1', 'start 2', 'stop 2', 'start 3']);
  });

  it('recognizes the error behind kafkajs giving up its own retries', async () => {
    const exhausted = new KafkaJSNumberOfRetriesExceeded(protocolError('LEADER_NOT_AVAILABLE', 5), {
      retryCount: 5,
      retryTime: 1_000,
    });
    const { create, events } = scripted([exhausted]);
    await startRetrying(create, { log, backoffMs: 1 });
    expect(events).toEqual(['start 1', 'stop 1', 'start 2']);
  });

  it('throws any other error at once, after stopping what it started', async () => {
    const denied = protocolError('TOPIC_AUTHORIZATION_FAILED', 29);
    const { create, events } = scripted([denied]);
    await expect(startRetrying(create, { log, backoffMs: 1 })).rejects.toBe(denied);
    expect(events).toEqual(['start 1', 'stop 1']);
  });

  it('gives up after its attempts, with the last error', async () => {
    const errors = [1, 2, 3].map(() => protocolError('UNKNOWN_TOPIC_OR_PARTITION', 3));
    const { create, events } = scripted([...errors]);
    await expect(startRetrying(create, { log, attempts: 3, backoffMs: 1 })).rejects.toBe(errors[2]);
    expect(events.filter((e) => e.startsWith('start'))).toHaveLength(3);
  });
});

describe('retryWhileNotReady', () => {
  it('tries again while the broker is not the leader yet, then answers', async () => {
    const failures = [protocolError('NOT_LEADER_FOR_PARTITION', 6), protocolError('LEADER_NOT_AVAILABLE', 5)];
    const retried: number[] = [];
    let calls = 0;
    const answer = await retryWhileNotReady(
      async () => {
        calls++;
        const failure = failures.shift();
        if (failure !== undefined) throw failure;
        return 'offsets';
      },
      { backoffMs: 1, onRetry: (_error, attempt) => retried.push(attempt) },
    );
    expect(answer).toBe('offsets');
    expect(calls).toBe(3);
    expect(retried).toEqual([1, 2]);
  });

  it('throws any other error at once, and the last one after its attempts', async () => {
    const fatal = protocolError('TOPIC_AUTHORIZATION_FAILED', 29);
    let calls = 0;
    await expect(
      retryWhileNotReady(async () => {
        calls++;
        throw fatal;
      }),
    ).rejects.toBe(fatal);
    expect(calls).toBe(1);
    const notLeader = protocolError('NOT_LEADER_FOR_PARTITION', 6);
    calls = 0;
    await expect(
      retryWhileNotReady(
        async () => {
          calls++;
          throw notLeader;
        },
        { attempts: 3, backoffMs: 1 },
      ),
    ).rejects.toBe(notLeader);
    expect(calls).toBe(3);
  });
});
