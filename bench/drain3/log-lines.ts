import { seededRandom } from '../../app/demo/otlp-scenario';

/**
 * Deterministic log lines for the Drain agreement test and benchmark: many templates (so the tree
 * branches, fills `maxChildren` and, with `maxClusters`, forgets clusters), with variable words,
 * numbers, ids, addresses, key=value pairs, odd whitespace and some non-ASCII text.
 */
export function generateLogLines(count: number, seed = 7): string[] {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const int = (max: number) => Math.floor(random() * max);
  const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[int(16)]).join('');
  const uuid = () => `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`;
  const ip = () => `${int(256)}.${int(256)}.${int(256)}.${int(256)}`;
  const words = ['alpha', 'beta', 'gamma', 'delta', 'cache', 'queue', 'disk', 'pool', 'élan', 'naïve'];
  const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
  const verbs = ['GET', 'POST', 'PUT', 'DELETE'];
  const templates: (() => string)[] = [
    () => `Design request received for CIRCUIT-${100 + int(7)}`,
    () => `Aggregated ${3 + int(4)} inventory items`,
    () => 'Product price is null or missing',
    () => 'Payment failed: card declined by issuer',
    () => `Upstream inventory call timed out after ${pick([5000, 7000])}ms`,
    () => `user ${pick(users)} logged in from ${ip()}`,
    () => `user ${pick(users)} logged out after ${int(3600)} s`,
    () => `${pick(verbs)} /api/v1/${pick(words)}/${int(1000)} ${pick([200, 201, 404, 500])} ${int(900)}ms`,
    () => `request ${uuid()} completed in ${(random() * 100).toFixed(2)} ms`,
    () => `worker-${int(12)} picked job ${hex(6)} from ${pick(words)}`,
    () => `connection to ${ip()}:${int(65536)} refused`,
    () => `pointer 0x${hex(8)} freed twice in ${pick(words)}`,
    () => `key=${pick(words)} value=${int(100)} ttl=${int(60)},region=${pick(['eu', 'us'])}`,
    () => `${pick(words)} ${pick(words)} ${pick(words)} ${pick(words)}`,
    () => `${pick(words)}  \t${pick(words)}   ${int(10)}  `,
    () => `retry ${int(5)} of 5 for ${pick(words)}-${int(40)} (backoff ${int(2000)} ms)`,
    () => `temperature ${(random() * 40 - 10).toFixed(1)} °C at sensor ${pick(['A', 'B', 'C'])}${int(99)}`,
    () => `${pick(users)}`,
    () => '',
    () => `disk /dev/sd${pick(['a', 'b', 'c'])}${int(4)} is ${int(100)}% full`,
    () => `${pick(words)}-${int(300)} started`,
    () => `${pick(users)}-${pick(words)}-${int(50)} stopped by ${pick(users)}`,
  ];
  return Array.from({ length: count }, () => pick(templates)());
}
