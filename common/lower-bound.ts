/**
 * Index of the first element of an ascending array that is not below `value`: where `value` would be
 * inserted to keep the array sorted (binary search, O(log n)).
 */
export function lowerBound<T extends number | string>(sorted: readonly T[], value: T): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((sorted[mid] as T) < value) low = mid + 1;
    else high = mid;
  }
  return low;
}
