/**
 * Rows → Arrow columns, built directly from typed arrays, validity bitmaps and offsets with
 * `makeData`. Responsibilities: validate every cell against its column, and never touch
 * apache-arrow's builders, `vectorFromArray` or `tableFromArrays`: those compile code with
 * `new Function` (builder/valid.ts), which workerd forbids outside tests
 * ("EvalError: Code generation from strings disallowed").
 */
import { Bool, Float64, Int32, Int64, List, makeData, RecordBatch, Struct, Table, TimestampMicrosecond, Utf8, type Data } from "apache-arrow";
import { arrowType, schemaOf, type CellValue, type Column, type Row } from "./schemas";
import { parseIsoMicros } from "./time";

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const encoder = new TextEncoder();

/** A cell that does not fit its column. The message names the column, row and value. */
export class ColumnTypeError extends Error {
  override name = "ColumnTypeError";
}

/** One Arrow table (a single record batch) holding `rows` in the shape `columns` describes. */
export function buildTable(columns: readonly Column[], rows: readonly Row[]): Table {
  checkRowKeys(columns, rows);
  const schema = schemaOf(columns);
  const children = columns.map((column) => buildColumn(column, rows));
  const data = makeData({ type: new Struct(schema.fields), length: rows.length, nullCount: 0, children });
  return new Table(schema, new RecordBatch(schema, data));
}

/** One column's Arrow data. Throws ColumnTypeError on the first cell that does not fit. */
export function buildColumn(column: Column, rows: readonly Row[]): Data {
  const n = rows.length;
  const validity = new Uint8Array((n + 7) >> 3);
  let nullCount = 0;
  const cell = (i: number): Exclude<CellValue, null> | undefined => {
    const value = rows[i]![column.name];
    if (value === null || value === undefined) {
      if (!column.nullable) throw mismatch(column, i, value, "a non-null value");
      nullCount++;
      return undefined;
    }
    validity[i >> 3]! |= 1 << (i & 7);
    return value;
  };
  const type = arrowType(column.type); // equal to the schema field's type; narrowed per case below
  const common = () => ({ length: n, nullCount, nullBitmap: nullCount ? validity : new Uint8Array(0) });

  switch (column.type) {
    case "int64":
    case "timestamp": {
      const data = new BigInt64Array(n);
      for (let i = 0; i < n; i++) {
        const v = cell(i);
        if (v !== undefined) data[i] = column.type === "int64" ? toInt64(column, i, v) : toMicros(column, i, v);
      }
      return column.type === "int64"
        ? makeData({ type: type as Int64, data, ...common() })
        : makeData({ type: type as TimestampMicrosecond, data, ...common() });
    }
    case "int32": {
      const data = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = cell(i);
        if (v === undefined) continue;
        if (typeof v !== "number" || !Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) throw mismatch(column, i, v, "a 32-bit integer");
        data[i] = v;
      }
      return makeData({ type: type as Int32, data, ...common() });
    }
    case "float64": {
      const data = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = cell(i);
        if (v === undefined) continue;
        if (typeof v !== "number") throw mismatch(column, i, v, "a number");
        data[i] = v;
      }
      return makeData({ type: type as Float64, data, ...common() });
    }
    case "bool": {
      const data = new Uint8Array((n + 7) >> 3); // bit-packed, LSB first, like the validity bitmap
      for (let i = 0; i < n; i++) {
        const v = cell(i);
        if (v === undefined) continue;
        if (typeof v !== "boolean") throw mismatch(column, i, v, "a boolean");
        if (v) data[i >> 3]! |= 1 << (i & 7);
      }
      return makeData({ type: type as Bool, data, ...common() });
    }
    case "string": {
      const strings: (string | undefined)[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const v = cell(i);
        if (v !== undefined && typeof v !== "string") throw mismatch(column, i, v, "a string");
        strings[i] = v;
      }
      return makeData({ type: type as Utf8, ...utf8Buffers(column, strings), ...common() });
    }
    case "list<string>": {
      const offsets = new Int32Array(n + 1);
      const items: string[] = [];
      for (let i = 0; i < n; i++) {
        const v = cell(i);
        if (v !== undefined) {
          if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) throw mismatch(column, i, v, "an array of strings");
          for (const s of v as readonly string[]) items.push(s);
        }
        offsets[i + 1] = items.length;
      }
      const child = makeData({ type: new Utf8(), length: items.length, nullCount: 0, ...utf8Buffers(column, items) });
      return makeData({ type: type as List<Utf8>, valueOffsets: offsets, child, ...common() });
    }
  }
}

/** Arrow Utf8 buffers: int32 offsets into one UTF-8 byte buffer. A missing string is an empty slot. */
function utf8Buffers(column: Column, strings: readonly (string | undefined)[]): { valueOffsets: Int32Array; data: Uint8Array } {
  const valueOffsets = new Int32Array(strings.length + 1);
  const encoded: Uint8Array[] = new Array(strings.length);
  let total = 0;
  for (let i = 0; i < strings.length; i++) {
    const bytes = encoder.encode(strings[i] ?? "");
    encoded[i] = bytes;
    total += bytes.length;
    if (total > INT32_MAX) throw new ColumnTypeError(`column "${column.name}": more than 2 GiB of text in one file`);
    valueOffsets[i + 1] = total;
  }
  const data = new Uint8Array(total);
  for (let i = 0; i < encoded.length; i++) data.set(encoded[i]!, valueOffsets[i]!);
  return { valueOffsets, data };
}

function toInt64(column: Column, row: number, v: Exclude<CellValue, null>): bigint {
  // Row values are JS numbers: beyond 2^53 they are already wrong, so refuse rather than write a neighbour.
  if (typeof v !== "number" || !Number.isSafeInteger(v)) throw mismatch(column, row, v, "an integer (safe integer range)");
  return BigInt(v);
}

function toMicros(column: Column, row: number, v: Exclude<CellValue, null>): bigint {
  const micros = typeof v === "string" ? parseIsoMicros(v) : null;
  if (micros === null) throw mismatch(column, row, v, "an ISO-8601 date-time with zone, e.g. 2026-12-04T02:00:00Z");
  return micros;
}

function checkRowKeys(columns: readonly Column[], rows: readonly Row[]): void {
  const known = new Set(columns.map((c) => c.name));
  rows.forEach((row, i) => {
    for (const key of Object.keys(row)) {
      if (!known.has(key)) throw new ColumnTypeError(`row ${i}: unknown column "${key}"`);
    }
  });
}

function mismatch(column: Column, row: number, value: unknown, expected: string): ColumnTypeError {
  return new ColumnTypeError(`column "${column.name}" (${column.type}${column.nullable ? "" : ", not null"}) row ${row}: expected ${expected}, got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing (missing)";
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}
