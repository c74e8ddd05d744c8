/** `npm run deploy:check`: builds exactly what `wrangler deploy` would upload (`wrangler deploy --dry-run --outdir`),
 *  prints each module's size and the gzip size of the whole upload — measured as wrangler measures it, the modules
 *  concatenated and gzipped — and fails when that passes 3 MiB, the Workers Free plan's limit ("Your Worker exceeded
 *  the size limit of 3 MiB"). Needs no Cloudflare account. CI runs it. */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import { ROOT } from "./devstack";

export const FREE_PLAN_LIMIT_BYTES = 3 * 1024 * 1024;
const WARN_AT = 0.8;
// Overridable for the script's own test (a tiny limit must fail); not meant for everyday use.
const LIMIT = Number(process.env.DEPLOY_CHECK_LIMIT_BYTES ?? FREE_PLAN_LIMIT_BYTES);
const OUT_DIR = process.env.DEPLOY_CHECK_OUTDIR ?? join(ROOT, "dist", "deploy-check");
const BIN = join(ROOT, "node_modules", ".bin");

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

/** Files wrangler uploads as modules: everything in the out dir except source maps and wrangler's README, the main
 *  module first (as wrangler concatenates them: the order changes the gzip size by a few KiB). */
export function uploadedModules(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => !f.endsWith(".map") && f !== "README.md")
    .sort((a, b) => Number(b === "index.js") - Number(a === "index.js") || a.localeCompare(b))
    .map((f) => join(dir, f))
    .filter((p) => statSync(p).isFile());
}

export function measure(files: string[]): { size: number; gzipSize: number; perFile: Array<{ file: string; size: number; gzipSize: number }> } {
  const contents = files.map((f) => readFileSync(f));
  const all = Buffer.concat(contents);
  return {
    size: all.byteLength,
    gzipSize: gzipSync(all).byteLength,
    perFile: files.map((file, i) => ({ file, size: contents[i]!.byteLength, gzipSize: gzipSync(contents[i]!).byteLength })),
  };
}

function main(): void {
  rmSync(OUT_DIR, { recursive: true, force: true });
  const build = spawnSync(join(BIN, "wrangler"), ["deploy", "--dry-run", "--outdir", OUT_DIR], {
    cwd: ROOT,
    env: { ...process.env, PATH: `${BIN}:${process.env.PATH ?? ""}`, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", FORCE_COLOR: "0" },
    encoding: "utf8",
  });
  const output = `${build.stdout ?? ""}${build.stderr ?? ""}`;
  if (build.status !== 0) {
    process.stderr.write(`${output}\ndeploy:check: wrangler deploy --dry-run failed (exit ${build.status})\n`);
    process.exit(1);
  }
  const { size, gzipSize, perFile } = measure(uploadedModules(OUT_DIR));
  const wranglerLine = /Total Upload: .*/.exec(output)?.[0];
  console.log(`deploy:check — what \`wrangler deploy\` uploads (${relative(process.cwd(), OUT_DIR) || OUT_DIR}):`);
  for (const f of perFile.sort((a, b) => b.gzipSize - a.gzipSize)) {
    console.log(`  ${relative(OUT_DIR, f.file).padEnd(60)} ${kib(f.size).padStart(12)}   gzip ${kib(f.gzipSize).padStart(10)}`);
  }
  if (wranglerLine) console.log(`  wrangler: ${wranglerLine}`);
  const pct = (gzipSize / LIMIT) * 100;
  const limitText = LIMIT === FREE_PLAN_LIMIT_BYTES ? "the Workers Free plan's 3 MiB limit" : `a limit of ${LIMIT} bytes`;
  console.log(`Bundle: ${kib(size)}, gzip ${kib(gzipSize)} (${gzipSize} bytes) = ${pct.toFixed(1)}% of ${limitText}`);
  if (gzipSize > LIMIT) {
    console.error(`deploy:check FAILED: the gzip bundle is ${kib(gzipSize - LIMIT)} over ${limitText}. Find what grew with \`npx wrangler deploy --dry-run --outdir dist/x --metafile\`.`);
    process.exit(1);
  }
  if (gzipSize > LIMIT * WARN_AT) console.warn(`deploy:check warning: over ${WARN_AT * 100}% of the limit`);
  console.log("deploy:check passed");
}

main();
