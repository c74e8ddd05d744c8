/**
 * Object keys of the lake. Responsibilities: the Hive layout from DESIGN.md, and keys that are
 * deterministic per (run, repo, resource, part) — a redelivered task overwrites its own file —
 * that never leave their prefix and never collide, whatever owner/repo strings come in.
 */
import { isResourceName, type ResourceName } from "./schemas";

export const LAKE_PREFIX = "sources/github";
const MAX_SEGMENT_CHARS = 100;
const RUN_ID = /^[A-Za-z0-9-]+$/;

/**
 * sources/github/{resource}/year=YYYY/month=MM/day=DD/{resource}_{owner}_{repo}_{runstamp}[_{part}].parquet
 * The date is the run's start date (UTC), so one run lands in one partition. Part 0 has no suffix;
 * part n > 0 ends in `_${n padded to 4}`.
 */
export function partKey(args: {
  resource: ResourceName;
  runId: string;
  runStartedAt: Date | string;
  owner: string;
  repo: string;
  part: number;
}): string {
  const { resource, runId, part } = args;
  checkRunId(runId);
  if (!isResourceName(resource)) throw new Error(`unknown resource ${JSON.stringify(resource)}`);
  if (!Number.isSafeInteger(part) || part < 0) throw new Error(`part must be a non-negative integer, got ${part}`);
  // `_` separates the name's fields, and repo names often contain it. Escaping it in the owner
  // (GitHub logins never contain `_`; only enterprise-managed users and our own "_all" do) makes
  // the owner/repo boundary unambiguous: "a_b"/"c" and "a"/"b_c" get different keys.
  const owner = safeKeySegment(args.owner).replaceAll("_", "%5F");
  const repo = safeKeySegment(args.repo);
  const suffix = part === 0 ? "" : `_${String(part).padStart(4, "0")}`;
  return `${LAKE_PREFIX}/${resource}/${datePartition(args.runStartedAt)}/${resource}_${owner}_${repo}_${runId}${suffix}.parquet`;
}

/** The run's manifest. Outside every table's folder and not `.parquet`, so `**\/*.parquet` globs skip it. */
export function manifestKey(runId: string, runStartedAt: Date | string): string {
  checkRunId(runId);
  return `${LAKE_PREFIX}/_manifests/${datePartition(runStartedAt)}/manifest_${runId}.json`;
}

/**
 * A name as one piece of an object key. GitHub's alphabet ([A-Za-z0-9._-]) passes through; every
 * other UTF-8 byte (/, \, %, spaces, control characters, unicode) becomes %XX, so the mapping is
 * injective and no `/` survives; an all-dots name ("..") is escaped whole. Results longer than
 * 100 characters keep a prefix plus `~` and a 64-bit hash of the input (`~` cannot appear otherwise).
 */
export function safeKeySegment(s: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(s)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9._-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  if (/^\.*$/.test(out)) out = out.replaceAll(".", "%2E"); // "", ".", ".." must not read as path steps
  if (out.length <= MAX_SEGMENT_CHARS) return out;
  const hash = `~${fnv1a64(s)}`;
  let head = out.slice(0, MAX_SEGMENT_CHARS - hash.length);
  head = head.replace(/%[0-9A-F]?$/, ""); // never cut an escape in half
  return head + hash;
}

function datePartition(runStartedAt: Date | string): string {
  const date = typeof runStartedAt === "string" ? new Date(runStartedAt) : runStartedAt;
  if (Number.isNaN(date.getTime())) throw new Error(`runStartedAt is not a date: ${String(runStartedAt)}`);
  const iso = date.toISOString(); // always UTC
  return `year=${iso.slice(0, 4)}/month=${iso.slice(5, 7)}/day=${iso.slice(8, 10)}`;
}

function checkRunId(runId: string): void {
  // Used verbatim in keys. All-digit ids are refused: with a part suffix ("_0001") they could
  // collide with another repo's part-0 key ("x_0001" = repo "x", run "0001" vs repo "x_…").
  if (!RUN_ID.test(runId) || /^\d+$/.test(runId)) throw new Error(`invalid run id ${JSON.stringify(runId)}: expected [A-Za-z0-9-]+ with a non-digit, e.g. 20261204T020000Z-7f3a`);
}

/** FNV-1a, 64-bit, over the UTF-8 bytes; synchronous (crypto.subtle is not), and only a tiebreaker. */
function fnv1a64(s: string): string {
  let h = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(s)) h = BigInt.asUintN(64, (h ^ BigInt(byte)) * 0x100000001b3n);
  return h.toString(16).padStart(16, "0");
}
