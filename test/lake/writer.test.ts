import { Bool, Float, Int, List, Precision, Table, tableFromIPC, TimeUnit, Timestamp, Type, Utf8, type DataType } from "apache-arrow";
import { env } from "cloudflare:workers";
import init, { readParquet } from "parquet-wasm/esm";
import wasm from "parquet-wasm/esm/parquet_wasm_bg.wasm";
import { beforeAll, describe, it } from "vitest";
import { ColumnTypeError } from "../../src/lake/columns";
import { RESOURCES, TABLES, type CellValue, type Column, type ResourceName, type Row } from "../../src/lake/schemas";
import { parquetFromColumns, PARQUET_CONTENT_TYPE, toParquet, writeTable } from "../../src/lake/writer";

beforeAll(async () => {
  await init({ module_or_path: wasm });
});

/** Parquet → Arrow JS, as any consumer in a Worker would read it. */
const read = (bytes: Uint8Array): Table => tableFromIPC(readParquet(bytes).intoIPCStream());

/** Every cell of a column as plain JS: Int64/Timestamp stay bigint (exact micros), lists become arrays. */
function cells(table: Table, name: string): unknown[] {
  const vector = table.getChild(name)!;
  const out: unknown[] = [];
  for (const data of vector.data) {
    for (let i = 0; i < data.length; i++) {
      if (!data.getValid(i)) { out.push(null); continue; }
      switch (data.type.typeId) {
        case Type.Timestamp:
        case Type.Int: out.push((data.values as BigInt64Array | Int32Array)[data.offset + i]); break;
        case Type.List: {
          const offsets = data.valueOffsets!;
          const child = data.children[0]!;
          const items: string[] = [];
          const decoder = new TextDecoder();
          for (let j = offsets[data.offset + i]!; j < offsets[data.offset + i + 1]!; j++) {
            items.push(decoder.decode(child.values.subarray(child.valueOffsets![j]!, child.valueOffsets![j + 1]!)));
          }
          out.push(items);
          break;
        }
        default: out.push(vector.get(out.length));
      }
    }
  }
  return out;
}

const micros = (iso: string) => BigInt(Date.parse(iso)) * 1000n;
const BIG = [1, 2 ** 31, 2 ** 32 + 7, Number.MAX_SAFE_INTEGER, -(2 ** 40)];
const TEXT = ["plain", "Ünïcødé «ç» 日本語", "emoji 🚀👩‍💻🏳️‍🌈", "", "quotes \" ' \\ and\nnew\tlines\u0000nul"];
const TIMES: [string, bigint][] = [
  ["2026-12-04T02:00:00Z", micros("2026-12-04T02:00:00Z")],
  ["2026-12-04T02:00:00.123456Z", micros("2026-12-04T02:00:00Z") + 123456n],
  ["2026-12-03T23:59:59+02:00", micros("2026-12-03T21:59:59Z")],
  ["1969-12-31T23:59:59.5Z", -500000n],
  ["2026-12-04T02:00:00.1234567Z", micros("2026-12-04T02:00:00Z") + 123456n],
];
const LISTS = [["bug"], [], ["enhancement", "good first issue 🐣", ""], ["a", "b", "c", "d"], ["日本語"]];

/** Row i of a table: every type exercised, each nullable column null on its own row (i % 7 === column index % 7). */
function sampleRow(resource: ResourceName, i: number): { row: Row; expected: Record<string, unknown> } {
  const row: Row = {};
  const expected: Record<string, unknown> = {};
  TABLES[resource].forEach((c, ci) => {
    if (c.nullable && (i + ci) % 7 === 0) { row[c.name] = null; expected[c.name] = null; return; }
    const k = (i + ci) % 5;
    let v: CellValue; let e: unknown;
    switch (c.type) {
      case "int64": v = BIG[k]!; e = BigInt(BIG[k]!); break;
      case "timestamp": [v, e] = TIMES[k]!; break;
      case "string": v = `${TEXT[k]} #${i}`; e = v; break;
      case "bool": v = k % 2 === 0; e = v; break;
      case "list<string>": v = LISTS[k]!; e = LISTS[k]; break;
      default: throw new Error(`no sample for ${c.type}`);
    }
    row[c.name] = v; expected[c.name] = e;
  });
  return { row, expected };
}

describe("toParquet", () => {
  it("round-trips rows of every table with nulls, unicode, emoji, empty lists and ids beyond 2^31", async ({ expect }) => {
    for (const resource of RESOURCES) {
      const samples = Array.from({ length: 14 }, (_, i) => sampleRow(resource, i));
      const table = read(await toParquet(resource, samples.map((s) => s.row)));
      expect(table.numRows, resource).toBe(14);
      expect(table.schema.fields.map((f) => f.name), resource).toEqual(TABLES[resource].map((c) => c.name));
      for (const c of TABLES[resource]) {
        expect(cells(table, c.name), `${resource}.${c.name}`).toEqual(samples.map((s) => s.expected[c.name]));
      }
    }
  });

  it("writes UTC microsecond timestamps, int64 ids, booleans and lists of strings, keeping nullability", async ({ expect }) => {
    const { row } = sampleRow("issues", 1);
    const table = read(await toParquet("issues", [row]));
    const field = (name: string) => table.schema.fields.find((f) => f.name === name)!;
    const ts = field("created_at").type as Timestamp;
    expect(ts.typeId).toBe(Type.Timestamp);
    expect(ts.unit).toBe(TimeUnit.MICROSECOND);
    expect(ts.timezone).toBe("UTC");
    // Types read back from IPC are the generic classes, so compare type ids and widths.
    const isInt64 = (t: unknown) => t instanceof Int && t.bitWidth === 64 && t.isSigned;
    expect(isInt64(field("id").type)).toBe(true);
    expect(isInt64(field("repository_id").type)).toBe(true);
    const labels = field("labels").type as List;
    expect(labels.typeId).toBe(Type.List);
    expect(labels.valueType).toBeInstanceOf(Utf8);
    expect(field("title").type).toBeInstanceOf(Utf8);
    expect((labels.children[0]!.type as DataType).typeId).toBe(Type.Utf8);
    expect(field("id").nullable).toBe(false);
    expect(field("_extracted_at").nullable).toBe(false);
    expect(field("closed_at").nullable).toBe(true);
    const pr = read(await toParquet("pull_requests", [sampleRow("pull_requests", 1).row]));
    expect(pr.schema.fields.find((f) => f.name === "draft")!.type).toBeInstanceOf(Bool);
  });

  it("generates no code at run time (production workerd forbids it; tests alone would not notice)", async ({ expect }) => {
    const realFunction = globalThis.Function;
    const realEval = globalThis.eval;
    const refuse = () => { throw new EvalError("Code generation from strings disallowed for this context"); };
    globalThis.Function = new Proxy(realFunction, { construct: refuse, apply: refuse });
    globalThis.eval = refuse;
    try {
      expect(() => new Function("return 1")).toThrow(EvalError); // the trap is armed
      for (const resource of RESOURCES) {
        const rows = Array.from({ length: 20 }, (_, i) => sampleRow(resource, i).row);
        expect((await toParquet(resource, rows)).byteLength).toBeGreaterThan(0);
      }
    } finally {
      globalThis.Function = realFunction;
      globalThis.eval = realEval;
    }
  });

  it("produces a real Parquet file (PAR1 at both ends)", async ({ expect }) => {
    const bytes = await toParquet("stargazers", [sampleRow("stargazers", 1).row]);
    const magic = (b: Uint8Array) => new TextDecoder().decode(b);
    expect(magic(bytes.subarray(0, 4))).toBe("PAR1");
    expect(magic(bytes.subarray(bytes.length - 4))).toBe("PAR1");
  });

  it("writes an empty table with its full schema", async ({ expect }) => {
    const table = read(await toParquet("commits", []));
    expect(table.numRows).toBe(0);
    expect(table.schema.fields.map((f) => f.name)).toEqual(TABLES.commits.map((c) => c.name));
  });

  it("keeps thousands of rows in order across record batches", async ({ expect }) => {
    const rows = Array.from({ length: 3000 }, (_, i) => ({ ...sampleRow("reactions", 1).row, id: 2 ** 33 + i, content: i % 3 ? "+1" : null }));
    const table = read(await toParquet("reactions", rows));
    expect(table.numRows).toBe(3000);
    expect(cells(table, "id")).toEqual(rows.map((r) => BigInt(r.id)));
    expect(cells(table, "content")).toEqual(rows.map((r) => r.content));
  });

  it("treats a missing nullable key as null", async ({ expect }) => {
    const { row } = sampleRow("releases", 3);
    delete row.name;
    expect(cells(read(await toParquet("releases", [row])), "name")).toEqual([null]);
  });
});

describe("toParquet validation", () => {
  const base = () => sampleRow("issues", 1).row;
  const bad: [string, Partial<Row>, RegExp][] = [
    ["a string in an int64 column", { id: "1" }, /column "id" \(int64, not null\) row 0: expected an integer.*got "1"/],
    ["a fraction in an int64 column", { comments_count: 1.5 }, /column "comments_count" \(int64\) row 0: expected an integer/],
    ["an integer beyond 2^53", { user_id: 2 ** 53 }, /column "user_id".*safe integer range/],
    ["null in a non-null column", { _run_id: null }, /column "_run_id" \(string, not null\) row 0: expected a non-null value, got null/],
    ["a number in a string column", { title: 5 }, /column "title" \(string\) row 0: expected a string, got 5/],
    ["a non-date string in a timestamp column", { closed_at: "soon" }, /column "closed_at" \(timestamp\) row 0: expected an ISO-8601 date-time/],
    ["a date without a zone", { created_at: "2026-12-04T02:00:00" }, /column "created_at".*ISO-8601/],
    ["a date-only value", { created_at: "2026-12-04" }, /column "created_at".*ISO-8601/],
    ["an impossible date", { created_at: "2026-02-30T00:00:00Z" }, /column "created_at".*ISO-8601/],
    ["epoch millis in a timestamp column", { updated_at: 1_700_000_000_000 }, /column "updated_at".*got 1700000000000/],
    ["a list with a non-string", { labels: ["ok", 3] as unknown as string[] }, /column "labels" \(list<string>\) row 0: expected an array of strings/],
    ["a bare string in a list column", { assignees: "octocat" }, /column "assignees".*array of strings/],
    ["an unknown column", { nonsense: 1 }, /row 0: unknown column "nonsense"/],
  ];
  for (const [what, patch, message] of bad) {
    it(`rejects ${what}, naming the column`, async ({ expect }) => {
      const err = await toParquet("issues", [{ ...base(), ...patch } as Row]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ColumnTypeError);
      expect((err as Error).message).toMatch(message);
    });
  }

  it("names the failing row", async ({ expect }) => {
    const repoRows = [sampleRow("repositories", 1).row, { ...sampleRow("repositories", 2).row, fork: "yes" }];
    await expect(toParquet("repositories", repoRows)).rejects.toThrow(/column "fork" \(bool\) row 1: expected a boolean, got "yes"/);
    await expect(toParquet("issues", [base(), base(), { ...base(), private: true }])).rejects.toThrow(/row 2: unknown column "private"/);
  });

  it("supports int32 and float64 columns for tables that need them", async ({ expect }) => {
    const columns: Column[] = [
      { name: "n", type: "int32", nullable: true },
      { name: "x", type: "float64", nullable: false },
    ];
    const table = read(await parquetFromColumns(columns, [{ n: -5, x: 0.25 }, { n: null, x: -1e300 }, { n: 2 ** 31 - 1, x: Number.NaN }]));
    const [n, x] = table.schema.fields.map((f) => f.type) as [Int, Float];
    expect([n.typeId, n.bitWidth]).toEqual([Type.Int, 32]);
    expect([x.typeId, x.precision]).toEqual([Type.Float, Precision.DOUBLE]);
    expect(cells(table, "n")).toEqual([-5, null, 2 ** 31 - 1]);
    expect(cells(table, "x")).toEqual([0.25, -1e300, Number.NaN]);
    await expect(parquetFromColumns(columns, [{ n: 2 ** 31, x: 1 }])).rejects.toThrow(/column "n" \(int32\) row 0: expected a 32-bit integer/);
    await expect(parquetFromColumns(columns, [{ n: 1, x: "1" }])).rejects.toThrow(/column "x" \(float64, not null\) row 0: expected a number/);
  });
});

describe("writeTable", () => {
  it("puts the Parquet file in R2 with its content type and row count", async ({ expect }) => {
    const rows = Array.from({ length: 5 }, (_, i) => sampleRow("workflow_runs", i).row);
    const key = "sources/github/workflow_runs/year=2026/month=12/day=04/workflow_runs_octo_hello_20261204T020000Z-7f3a.parquet";
    const result = await writeTable(env.LAKE, key, "workflow_runs", rows);
    expect(result).toEqual({ key, rows: 5, bytes: expect.any(Number) });
    const object = await env.LAKE.get(key);
    expect(object).not.toBeNull();
    expect(object!.size).toBe(result.bytes);
    expect(object!.httpMetadata?.contentType).toBe(PARQUET_CONTENT_TYPE);
    expect(PARQUET_CONTENT_TYPE).toBe("application/vnd.apache.parquet");
    expect(object!.customMetadata).toEqual({ resource: "workflow_runs", rows: "5" });
    const table = read(new Uint8Array(await object!.arrayBuffer()));
    expect(table.numRows).toBe(5);
    expect(cells(table, "id")).toEqual(rows.map((r) => (r.id === null ? null : BigInt(r.id as number))));
  });

  it("overwrites the same key instead of adding a file (redelivered tasks)", async ({ expect }) => {
    const key = "sources/github/releases/year=2026/month=12/day=04/releases_octo_hello_20261204T020000Z-7f3a.parquet";
    await writeTable(env.LAKE, key, "releases", [sampleRow("releases", 1).row, sampleRow("releases", 2).row]);
    await writeTable(env.LAKE, key, "releases", [sampleRow("releases", 1).row]);
    const listed = await env.LAKE.list({ prefix: "sources/github/releases/" });
    expect(listed.objects.map((o) => o.key)).toEqual([key]);
    expect((await env.LAKE.head(key))!.customMetadata).toEqual({ resource: "releases", rows: "1" });
  });

  it("writes nothing when a row is invalid", async ({ expect }) => {
    const key = "sources/github/stargazers/year=2026/month=12/day=04/stargazers_bad.parquet";
    await expect(writeTable(env.LAKE, key, "stargazers", [{ ...sampleRow("stargazers", 1).row, user_id: null }])).rejects.toThrow(/user_id/);
    expect(await env.LAKE.head(key)).toBeNull();
  });
});
