/**
 * ISO-8601 timestamps ↔ epoch microseconds. GitHub sends second precision ("2011-04-10T20:09:31Z");
 * our own stamps carry milliseconds. Parsed by hand so sub-millisecond digits are kept, not rounded.
 */
const ISO = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** True for a full date-time with zone: what the writer accepts for a timestamp column. */
export function isIsoTimestamp(s: string): boolean {
  return parseIsoMicros(s) !== null;
}

/** Epoch microseconds, or null when `s` is not a date-time with an explicit zone (or no real date). */
export function parseIsoMicros(s: string): bigint | null {
  const m = ISO.exec(s);
  if (!m) return null;
  const seconds = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(seconds)) return null;
  // Date.parse accepts "2021-02-30" by rolling over; reject dates that do not round-trip.
  if (m[3] === "Z" && new Date(seconds).toISOString().slice(0, 19) !== m[1]) return null;
  const fraction = BigInt((m[2] ?? "").padEnd(6, "0").slice(0, 6));
  return BigInt(seconds) * 1000n + fraction;
}
