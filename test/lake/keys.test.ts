import { describe, it } from "vitest";
import { LAKE_PREFIX, manifestKey, partKey, safeKeySegment } from "../../src/lake/keys";
import { RESOURCES } from "../../src/lake/schemas";

const RUN = "20261204T020000Z-7f3a";
const base = { resource: "issues" as const, runId: RUN, runStartedAt: "2026-12-04T02:00:00Z", owner: "octocat", repo: "Hello-World", part: 0 };
const fileName = (key: string) => key.slice(key.lastIndexOf("/") + 1);
const dir = (key: string) => key.slice(0, key.lastIndexOf("/"));

describe("partKey", () => {
  it("follows the Hive layout of the design", ({ expect }) => {
    expect(partKey(base)).toBe(`sources/github/issues/year=2026/month=12/day=04/issues_octocat_Hello-World_${RUN}.parquet`);
    for (const resource of RESOURCES) {
      expect(partKey({ ...base, resource })).toMatch(new RegExp(`^sources/github/${resource}/year=2026/month=12/day=04/${resource}_octocat_Hello-World_${RUN}\\.parquet$`));
    }
  });

  it("suffixes parts after the first with a 4-digit number", ({ expect }) => {
    expect(fileName(partKey({ ...base, part: 1 }))).toBe(`issues_octocat_Hello-World_${RUN}_0001.parquet`);
    expect(fileName(partKey({ ...base, part: 42 }))).toBe(`issues_octocat_Hello-World_${RUN}_0042.parquet`);
    expect(fileName(partKey({ ...base, part: 12345 }))).toBe(`issues_octocat_Hello-World_${RUN}_12345.parquet`);
    for (const part of [-1, 1.5, Number.NaN, Infinity]) expect(() => partKey({ ...base, part })).toThrow(/part/);
  });

  it("partitions by the run's start date in UTC, whatever the part is written at", ({ expect }) => {
    expect(dir(partKey({ ...base, runStartedAt: new Date("2026-12-31T23:59:59.999Z") }))).toBe("sources/github/issues/year=2026/month=12/day=31");
    expect(dir(partKey({ ...base, runStartedAt: "2027-01-01T00:30:00+02:00" }))).toBe("sources/github/issues/year=2026/month=12/day=31");
    expect(dir(partKey({ ...base, runStartedAt: new Date(Date.UTC(2027, 0, 5, 2)) }))).toBe("sources/github/issues/year=2027/month=01/day=05");
    expect(() => partKey({ ...base, runStartedAt: "not a date" })).toThrow(/runStartedAt/);
  });

  it("is deterministic per (run, repo, resource, part)", ({ expect }) => {
    expect(partKey(base)).toBe(partKey({ ...base }));
    expect(partKey(base)).not.toBe(partKey({ ...base, runId: "20261204T020000Z-7f3b" }));
  });

  it("uses the run id verbatim and refuses run ids that could escape or collide", ({ expect }) => {
    expect(fileName(partKey({ ...base, runId: "manual-abc" }))).toBe("issues_octocat_Hello-World_manual-abc.parquet");
    for (const runId of ["", "../x", "a/b", "a_b", "a b", "ü", "a.b", "123"]) {
      expect(() => partKey({ ...base, runId }), runId).toThrow(/run id/);
      expect(() => manifestKey(runId, base.runStartedAt), runId).toThrow(/run id/);
    }
  });

  it("refuses an unknown resource", ({ expect }) => {
    expect(() => partKey({ ...base, resource: "../secrets" as never })).toThrow(/resource/);
  });

  const hostile = ["..", ".", "a/b", "../../etc", "a\\b", "%2F", "a b", "ünïcødé", "🚀", "ctl\u0000\n\r", "x".repeat(300), "é".repeat(300), "/".repeat(300), "", "_all", "a_b", "~"];
  it("keeps hostile owner and repo names inside the resource's partition, with no `/` in the file name", ({ expect }) => {
    for (const owner of hostile) {
      for (const repo of hostile) {
        const key = partKey({ ...base, owner, repo, part: 3 });
        expect(dir(key), JSON.stringify([owner, repo])).toBe("sources/github/issues/year=2026/month=12/day=04");
        expect(key.startsWith(`${LAKE_PREFIX}/issues/`)).toBe(true);
        expect(fileName(key)).toMatch(/^issues_[A-Za-z0-9.%~-]*_[A-Za-z0-9._%~-]*_20261204T020000Z-7f3a_0003\.parquet$/);
        expect(key.split("/").some((s) => s === "." || s === "..")).toBe(false);
        expect(fileName(key).length).toBeLessThan(260);
      }
    }
  });

  it("never maps two different (owner, repo) pairs to one key", ({ expect }) => {
    const seen = new Map<string, string>();
    const names = [...hostile, "a", "b", "b_c", "a_b_c", "c", "x".repeat(299), "%41", "A", "a%5Fb"];
    for (const owner of names) {
      for (const repo of names) {
        for (const part of [0, 1]) {
          const key = partKey({ ...base, owner, repo, part });
          const id = JSON.stringify([owner, repo, part]);
          expect(seen.get(key) ?? id, key).toBe(id);
          seen.set(key, id);
        }
      }
    }
    // The classic ambiguity of `_`-joined names: "a_b"/"c" vs "a"/"b_c".
    expect(partKey({ ...base, owner: "a_b", repo: "c" })).not.toBe(partKey({ ...base, owner: "a", repo: "b_c" }));
  });
});

describe("manifestKey", () => {
  it("lives under _manifests in the run's date partition, out of reach of **/*.parquet globs", ({ expect }) => {
    const key = manifestKey(RUN, new Date("2026-12-04T02:00:00Z"));
    expect(key).toBe(`sources/github/_manifests/year=2026/month=12/day=04/manifest_${RUN}.json`);
    expect(key.endsWith(".parquet")).toBe(false);
    for (const r of RESOURCES) expect(key.startsWith(`${LAKE_PREFIX}/${r}/`)).toBe(false);
  });
});

describe("safeKeySegment", () => {
  it("passes GitHub's alphabet through unchanged", ({ expect }) => {
    for (const s of ["octocat", "Hello-World", "my_repo", ".github", "a.b-c_d", "x".repeat(100)]) expect(safeKeySegment(s)).toBe(s);
  });

  it("percent-encodes everything else as UTF-8 bytes", ({ expect }) => {
    expect(safeKeySegment("a/b")).toBe("a%2Fb");
    expect(safeKeySegment("a\\b")).toBe("a%5Cb");
    expect(safeKeySegment("100%")).toBe("100%25");
    expect(safeKeySegment("ü")).toBe("%C3%BC");
    expect(safeKeySegment("🚀")).toBe("%F0%9F%9A%80");
    expect(safeKeySegment("a b\n")).toBe("a%20b%0A");
  });

  it("escapes names made only of dots", ({ expect }) => {
    expect(safeKeySegment("..")).toBe("%2E%2E");
    expect(safeKeySegment(".")).toBe("%2E");
    expect(safeKeySegment("...")).toBe("%2E%2E%2E");
    expect(safeKeySegment("..a")).toBe("..a");
  });

  it("bounds long results to 100 characters with a hash, never splitting an escape", ({ expect }) => {
    for (const s of ["x".repeat(101), "x".repeat(300), "é".repeat(60), "a/".repeat(80), "x".repeat(98) + "🚀"]) {
      const out = safeKeySegment(s);
      expect(out.length, s).toBeLessThanOrEqual(100);
      expect(out).toMatch(/^([A-Za-z0-9._-]|%[0-9A-F]{2})*~[0-9a-f]{16}$/);
    }
    expect(safeKeySegment("x".repeat(300))).not.toBe(safeKeySegment(`${"x".repeat(299)}y`));
    expect(safeKeySegment("x".repeat(300))).toBe(safeKeySegment("x".repeat(300)));
  });
});
