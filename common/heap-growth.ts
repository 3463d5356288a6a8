import { setFlagsFromString } from 'node:v8';

/**
 * The old generation may grow to 2.5× what survived the last full collection (V8's heap growing
 * factor), instead of up to 4×, which V8 picks when the process allocates fast, as a stream processor
 * does. StackLens's live heap is small (~40–100 MiB in the benchmark) and nearly all it allocates dies
 * young, so V8's own choice let the heap reach ~200–250 MiB and the process's peak RSS 520–600 MiB in
 * `stacklens bench`. At 2.5× the peak RSS was 458–489 MiB in five runs, with the same records/s and
 * alert latency within the runs' spread (README, Performance); at 2× (100) full collections cost
 * ~10 % more CPU.
 */
export const HEAP_GROWING_PERCENT = 150;

/**
 * Applies HEAP_GROWING_PERCENT to this process (all its isolates: the flag is process-wide). Call it
 * first thing in an entry point: V8 reads it whenever it sizes the heap after a full collection.
 */
export function boundHeapGrowth(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
