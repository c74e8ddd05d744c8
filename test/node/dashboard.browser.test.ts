/** The dashboard in a real browser: Debian's Chromium, driven by playwright-core, loads the page from the real Worker
 *  under `wrangler dev` (scripts/devstack.ts, as `npm start` and the e2e test use it), refuses a wrong token with a clear
 *  message, signs in, starts a run against the simulator, watches the progress bars move over the live feed until the
 *  run completes, reads the rate-limit gauge, cancels a second run, and saves screenshots at desktop and phone widths
 *  to test-artifacts/. The Worker also has NOTIFY_WEBHOOK_URL pointed at a local receiver: both runs' ends must arrive.
 *
 *  Needs /usr/bin/chromium (`apt-get install -y chromium`; .ci/run installs it) or CHROMIUM_PATH. */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, it } from "vitest";
import { ROOT, startDevStack, type DevStack } from "../../scripts/devstack";
import type { SlackMessage } from "../../src/notify";
import type { RunStatus } from "../../src/objects/RunCoordinator";
import type { BucketSnapshot } from "../../src/objects/TokenBucket";

// What the page functions below touch in the browser (this project's types have no DOM library).
declare const document: { querySelector(s: string): { textContent: string | null; getAttribute(name: string): string | null } | null; querySelectorAll(s: string): { length: number }; documentElement: { scrollWidth: number } };
declare const location: { hash: string };

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARTIFACTS = join(ROOT, "test-artifacts");
// As this machine's Chromium must be started: no sandbox as root, and none of its own network traffic.
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

let stack: DevStack;
let receiver: Server;
const webhooks: SlackMessage[] = [];
let profile: string;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];
let runId = "";
/** aria-valuenow of the "All tasks" bar and of the issues bar, sampled while the run went on. */
const overallSeen: number[] = [];
const issuesSeen: number[] = [];

async function startReceiver(): Promise<string> {
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += String(c)));
    req.on("end", () => {
      try {
        webhooks.push(JSON.parse(body) as SlackMessage);
      } catch {
        /* counted as missing */
      }
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
  return `http://127.0.0.1:${(receiver.address() as { port: number }).port}/slack`;
}

const text = async (selector: string) => ((await page.textContent(selector)) ?? "").trim();
const bar = (selector: string) => page.locator(selector).first();
const valueOf = async (selector: string) => Number((await bar(selector).getAttribute("aria-valuenow")) ?? "-1");

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  const webhook = await startReceiver();
  // Slow enough GitHub answers (and 2 pages per part) that the bars are seen moving, fast enough for a short test.
  stack = await startDevStack({
    sim: { latencyMs: [40, 120] },
    vars: { PAGES_PER_PART: "2", RATE_MAX_CONCURRENT: "4", NOTIFY_WEBHOOK_URL: webhook },
  });
  profile = mkdtempSync(join(tmpdir(), "github-lake-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 900 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) pageErrors.push(m.text());
  });
  mkdirSync(ARTIFACTS, { recursive: true });
}, 180_000);

afterAll(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await stack?.stop();
  await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
});

describe("the dashboard in Chromium", () => {
  it("asks for the token, and says clearly when it is wrong", async ({ expect }) => {
    await page.goto(`${stack.workerUrl}/`);
    await page.waitForSelector("#signin:not(.hidden)");
    await page.fill("#token", "not-the-admin-token");
    await page.click("#signin-button");
    await page.waitForSelector("#signin-error:not(.hidden)");
    expect(await text("#signin-error")).toMatch(/Wrong admin token: the Worker answered 401/);
    expect(await page.isHidden("#app")).toBe(true);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-wrong-token.png") });
  });

  it("signs in, keeping the token in sessionStorage and out of the URL", async ({ expect }) => {
    await page.fill("#token", stack.adminToken);
    await page.click("#signin-button");
    await page.waitForSelector("#app:not(.hidden)");
    expect(await page.evaluate(() => sessionStorage.getItem("github-lake.adminToken"))).toBe(stack.adminToken);
    expect(page.url()).not.toContain(stack.adminToken);
    await page.waitForSelector("#buckets > *"); // a bucket, or "no bucket yet" before GitHub has answered
  });

  it("starts a run, and its progress bars move over the live feed until the run completes", async ({ expect }) => {
    await page.click("#start-run");
    await page.waitForFunction(() => /^#run=/.test(location.hash));
    runId = page.url().split("#run=")[1]!;
    expect(runId).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{4}$/);
    await page.waitForSelector('#live-text:text("live")', { timeout: 20_000 }); // the WebSocket, opened with a ticket
    let midShot = false;
    const deadline = Date.now() + 150_000;
    while ((await text("#run-status")) === "running" && Date.now() < deadline) {
      overallSeen.push(await valueOf("#overall"));
      const issues = page.locator('[data-testid="resource-bar"][aria-label="issues"]');
      if (await issues.count()) issuesSeen.push(Number(await issues.getAttribute("aria-valuenow")));
      const max = Number(await bar("#overall").getAttribute("aria-valuemax"));
      if (!midShot && max > 10 && overallSeen.at(-1)! > max / 4) {
        await page.screenshot({ path: join(ARTIFACTS, "dashboard-running-desktop.png"), fullPage: true });
        midShot = true;
      }
      await page.waitForTimeout(150);
    }
    expect(await text("#run-status")).toBe("completed with errors"); // the simulator's vanished repository, by design
    const status = await stack.apiJson<RunStatus>(`/runs/${runId}`);
    expect(status.status).toBe("completed_with_errors");

    // The bars moved: the overall bar went through several values strictly between empty and full, never backwards.
    const total = status.tasks.total;
    const between = new Set(overallSeen.filter((v) => v > 0 && v < total));
    expect(between.size, `overall bar values seen: ${[...new Set(overallSeen)].join(",")}`).toBeGreaterThanOrEqual(3);
    expect(overallSeen).toEqual([...overallSeen].sort((a, b) => a - b));
    expect(new Set(issuesSeen.filter((v) => v > 0)).size).toBeGreaterThanOrEqual(2);

    // At the end every bar is full and matches the API.
    await page.waitForFunction((t) => document.querySelector("#overall")?.getAttribute("aria-valuenow") === String(t), total);
    for (const [resource, r] of Object.entries(status.byResource)) {
      const b = page.locator(`[data-testid="resource-bar"][aria-label="${resource}"]`);
      expect(await b.getAttribute("aria-valuenow"), resource).toBe(String(r.tasks));
      expect(await b.getAttribute("aria-valuemax"), resource).toBe(String(r.tasks));
    }
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="repository-bar"]').length === n, status.repositories);
    const rows = await page.locator('[data-tile="rows"] .v').textContent();
    expect(rows).toBe(status.counters.rows.toLocaleString("en-US"));
    expect(await text("#errors")).toContain("sim-org/vanished-repo");
    expect(await page.isDisabled("#cancel")).toBe(true);
    expect(pageErrors).toEqual([]);
  }, 200_000);

  it("reads the rate-limit gauge: remaining of the limit, as GET /ratelimit reports it", async ({ expect }) => {
    await page.click("#refresh");
    const { buckets } = await stack.apiJson<{ buckets: BucketSnapshot[] }>("/ratelimit");
    const b = buckets[0]!;
    expect(b.limit).toBe(5000);
    await page.waitForFunction(
      (want) => document.querySelector('[data-testid="bucket"] .kv dd')?.textContent === want,
      `${b.remaining!.toLocaleString("en-US")} / ${b.limit!.toLocaleString("en-US")}`,
    );
    const gauge = page.locator('[data-testid="gauge"]').first();
    expect(await gauge.locator(".pct").textContent()).toBe(`${Math.round((b.remaining! / b.limit!) * 100)}%`);
    expect(await gauge.getAttribute("title")).toBe(`${b.remaining!.toLocaleString("en-US")} of 5,000 requests left`);
    const bucketText = await text('[data-testid="bucket"]');
    expect(bucketText).toMatch(/resets in\s*\d+:\d\d/);
    expect(bucketText).toMatch(/in flight\s*\d+ \/ \d+/);
  });

  it("looks right at desktop and phone widths (screenshots in test-artifacts/)", async ({ expect }) => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-desktop.png"), fullPage: true });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-phone.png"), fullPage: true });
    // Nothing wider than the phone: no sideways scrolling.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(await page.isVisible("#start-run")).toBe(true);
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it("cancels a running run from its button", async ({ expect }) => {
    page.once("dialog", (d) => void d.accept());
    // A full run (an incremental one after the first could end before the click).
    await page.click("#start-options summary");
    await page.check("#opt-full");
    await page.click("#start-run");
    await page.waitForFunction((first) => /^#run=/.test(location.hash) && !location.hash.endsWith(first), runId);
    await page.waitForSelector("#cancel:not([disabled])");
    await page.click("#cancel");
    await page.waitForFunction(() => document.querySelector("#run-status")?.textContent === "cancelled", null, { timeout: 20_000 });
    const second = page.url().split("#run=")[1]!;
    expect((await stack.apiJson<RunStatus>(`/runs/${second}`)).status).toBe("cancelled");
  });

  it("sent each run's end to the webhook in Slack's format", async ({ expect }) => {
    const deadline = Date.now() + 10_000;
    while (webhooks.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const ends = webhooks.filter((w) => /github-lake run /.test(w.text));
    expect(ends.map((w) => /run (\S+) (\w+)/.exec(w.text)?.slice(1))).toEqual(
      expect.arrayContaining([[runId, "completed_with_errors"], [expect.stringMatching(/^\d{8}T/), "cancelled"]]),
    );
    for (const w of ends) expect(w.blocks[0]?.type).toBe("header");
  });
});
