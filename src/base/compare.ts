// String order by UTF-16 code unit, the order of Go's `<` on ASCII strings (istiod's and Envoy's
// sorts) and of `Array.prototype.sort` without a comparator. Not localeCompare: that orders by
// the locale's collation ("a" before "B") and its first call loads ICU's collation data, tens
// of milliseconds of a process's start.
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
