import { env } from "cloudflare:workers";
import { it } from "vitest";
it("has bindings", async ({ expect }) => { expect(env.ADMIN_TOKEN).toBe("test-admin-token"); });
