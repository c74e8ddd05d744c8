/**
 * Rows → Parquet bytes → R2 object. Responsibilities: validate rows against the table's columns
 * (via columns.ts), encode them with parquet-wasm (Zstd), and put the file in the lake.
 */
import { tableToIPC } from "apache-arrow";
import init, { Compression, Table as WasmTable, WriterPropertiesBuilder, writeParquet } from "parquet-wasm/esm";
// wrangler and the vitest plugin both load a `*.wasm` import as a compiled WebAssembly.Module.
import wasm from "parquet-wasm/esm/parquet_wasm_bg.wasm";
import { buildTable } from "./columns";
import { TABLES, type Column, type ResourceName, type Row } from "./schemas";

export const PARQUET_CONTENT_TYPE = "application/vnd.apache.parquet";
const CREATED_BY = "github-lake (parquet-wasm 0.8)";

// Per isolate, not per request: instantiating the module is the expensive part and it is stateless between writes.
let ready: Promise<unknown> | undefined;
const initParquet = () =>
  (ready ??= init({ module_or_path: wasm }).catch((error: unknown) => {
    ready = undefined; // let the next write retry instead of failing forever
    throw error;
  }));

/** Parquet bytes for `rows` of `resource`. Throws ColumnTypeError (naming the column and row) on a bad cell. */
export async function toParquet(resource: ResourceName, rows: readonly Row[]): Promise<Uint8Array> {
  return parquetFromColumns(TABLES[resource], rows);
}

/** The same for any column list; exported so tests can cover column types no table uses yet. */
export async function parquetFromColumns(columns: readonly Column[], rows: readonly Row[]): Promise<Uint8Array> {
  const arrow = buildTable(columns, rows); // validate before paying for the wasm init
  await initParquet();
  const props = new WriterPropertiesBuilder().setCompression(Compression.ZSTD).setCreatedBy(CREATED_BY).build();
  // writeParquet consumes (frees) both the wasm table and the properties.
  return writeParquet(WasmTable.fromIPCStream(tableToIPC(arrow, "stream")), props);
}

/** Writes one Parquet object. Idempotent per key: a redelivered task overwrites its own file. */
export async function writeTable(
  bucket: R2Bucket,
  key: string,
  resource: ResourceName,
  rows: readonly Row[],
): Promise<{ key: string; rows: number; bytes: number }> {
  const bytes = await toParquet(resource, rows);
  await bucket.put(key, bytes, {
    httpMetadata: { contentType: PARQUET_CONTENT_TYPE },
    customMetadata: { resource, rows: String(rows.length) },
  });
  return { key, rows: rows.length, bytes: bytes.byteLength };
}
