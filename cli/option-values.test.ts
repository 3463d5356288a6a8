import { InvalidArgumentError } from 'commander';
import { port, positiveInteger } from './option-values';

describe('option values', () => {
  it('takes a port from 0 (any free one) to 65535', () => {
    expect(port('0')).toBe(0);
    expect(port('8123')).toBe(8123);
    for (const bad of ['-1', '65536', '80.5', 'http']) expect(() => port(bad)).toThrow(InvalidArgumentError);
  });

  it('takes a whole number of at least 1', () => {
    expect(positiveInteger('4')).toBe(4);
    for (const bad of ['0', '-2', '2.5', 'four'])
      expect(() => positiveInteger(bad)).toThrow(InvalidArgumentError);
  });
});
