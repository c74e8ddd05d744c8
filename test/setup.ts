/** Runs before every spec file inside workerd. The property tests' seed is fixed (FUZZ_SEED in vitest.config.ts), so a
 *  counterexample fails every run rather than one CI run in ten; `FUZZ_SEED=random npm test` explores new cases. */
import { env } from "cloudflare:workers";
import fc from "fast-check";

const seed = (env as unknown as { FUZZ_SEED?: string }).FUZZ_SEED ?? "random";
if (seed !== "random") fc.configureGlobal({ seed: Number(seed) });
