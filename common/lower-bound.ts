/**
 * Index of the first element of an ascending array that is not below `value`: where `value` would be
 * inserted to keep the array sorted (binary search, O(log n)).
 */
export function lowerBound<T extends number | string>(sorted: readonly T[], value: T): number {
  return lowerBoundBy(sorted, value, (element) => element);
}

/** lowerBound over an array sorted by `keyOf` of its elements (e.g. buffered items by offset). */
export function lowerBoundBy<E, T extends number | string | bigint>(
  sorted: readonly E[],
  value: T,
  keyOf: (element: E) => T,
): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (keyOf(sorted[mid] as E) < value) low = mid + 1;
    else high = mid;
  }
  return low;
}
