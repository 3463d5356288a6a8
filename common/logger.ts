import pino, { type Logger } from 'pino';

export type { Logger };
export type LogFormat = 'json' | 'text';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/**
 * Structured logger. JSON lines by default (what log shippers expect); `text` prints a compact
 * human-readable line without pulling in a pretty-printer.
 * Keys that may carry secrets are redacted by pino before anything is written.
 */
export function createLogger(options: { level: LogLevel; format: LogFormat; name?: string }): Logger {
  const redact = {
    paths: [
      'password',
      '*.password',
      'secret',
      '*.secret',
      'secretAccessKey',
      '*.secretAccessKey',
      'authorization',
      '*.authorization',
    ],
    censor: '[REDACTED]',
  };
  if (options.format === 'json') {
    return pino({ level: options.level, name: options.name, redact });
  }
  return pino(
    {
      level: options.level,
      name: options.name,
      redact,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    {
      write(line: string) {
        const { time, level, msg, name, ...rest } = JSON.parse(line) as Record<string, unknown>;
        const label = pino.levels.labels[Number(level)] ?? String(level);
        const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
        process.stdout.write(
          `${String(time)} ${label.toUpperCase()}${name ? ` [${String(name)}]` : ''} ${String(msg)}${extra}\n`,
        );
      },
    },
  );
}
