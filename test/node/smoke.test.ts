import { it } from "vitest";
it("runs in node", ({ expect }) => { expect(process.version.startsWith("v2")).toBe(true); });
