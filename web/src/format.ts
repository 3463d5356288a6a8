/** Local time with milliseconds from epoch nanoseconds as a decimal string (exact: no float of the nanos). */
export function timeOfNanos(nanos: string): string {
  const ms = Number(nanos.length > 6 ? nanos.slice(0, -6) : '0');
  return timeOfMs(ms);
}

export function timeOfMs(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function duration(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 2 : 0)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/** The severity class of a log (OpenTelemetry severity numbers: 17+ error, 13+ warn). */
export function levelClass(severityNumber: number): string {
  return severityNumber >= 17
    ? 'error'
    : severityNumber >= 13
      ? 'warn'
      : severityNumber >= 9
        ? 'info'
        : 'debug';
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
