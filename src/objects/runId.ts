/** Run ids are sortable UTC stamps with a random suffix, e.g. `20261204T020000Z-7f3a`: they double as the runstamp
 *  in lake keys, so two runs started in the same second still never share a key. */
export function newRunId(nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z");
  const suffix = [...crypto.getRandomValues(new Uint8Array(2))].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${stamp}-${suffix}`;
}

export const RUN_ID_PATTERN = /^\d{8}T\d{6}Z-[0-9a-f]{4}$/;
