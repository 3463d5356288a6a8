import { InvalidArgumentError } from 'commander';

/** A TCP port for a server to listen on; 0 lets the system pick a free one. */
export function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535)
    throw new InvalidArgumentError('must be a port number (0: any free port)');
  return n;
}

/** A count or size that must be a whole number of at least 1. */
export function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return n;
}
