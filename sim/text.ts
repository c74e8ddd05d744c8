// Word lists and text builders for synthetic titles, bodies and commit messages. Bodies deliberately
// include what real GitHub text contains and pipelines trip over: null, CRLF line ends, emoji (incl. ZWJ
// sequences and astral-plane characters), CJK, RTL text, quotes, backslashes, tabs, markdown, very long text.

import { chance, int, pick, type Rng } from "./prng";

export const FIRST_NAMES = [
  "alex", "sam", "kim", "jo", "lee", "max", "ana", "li", "noor", "omar", "yuki", "sven", "ines", "tariq",
  "maya", "ravi", "zoe", "ivan", "lena", "paulo", "chen", "fatima", "jonas", "emma", "diego", "hana",
  "kofi", "lucia", "mateo", "priya", "sara", "tom", "ugo", "vera", "wei", "xena", "yara", "zane",
];
export const LAST_NAMES = [
  "smith", "garcia", "muller", "rossi", "tanaka", "kowalski", "nguyen", "silva", "haddad", "okafor",
  "larsen", "dubois", "novak", "ivanova", "kim", "chen", "patel", "cohen", "moreau", "schmidt", "costa",
  "yilmaz", "sato", "berg", "fischer", "romero", "ali", "hansen", "weber", "lopez",
];
/** Display names with the characters real author names have. */
export const DISPLAY_NAMES = [
  "José Álvarez", "Zoë Müller", "李小龙", "Łukasz Nowak", "Søren Ødegård", "Ana-María O'Neill",
  "Иван Петров", "محمد علي", "Nguyễn Văn An", "Chloé Dubois", "Ümit Yılmaz", "Björk Guðmundsdóttir",
  "Sam Lee", "Priya Patel", "Jonas Berg", "Emma \"Em\" Weber", "Kofi Okafor", "田中 裕子",
];

const VERBS = ["Fix", "Add", "Remove", "Refactor", "Improve", "Update", "Document", "Speed up", "Handle", "Support"];
const OBJECTS = [
  "pagination of large lists", "retry logic for 502 responses", "the parquet writer", "timezone handling",
  "the CLI help text", "memory usage in the exporter", "flaky integration test", "unicode in titles",
  "the release workflow", "rate limit backoff", "config loading on Windows", "dark mode colours",
  "dependency versions", "error messages", "the README", "empty repository handling", "webhook signature check",
];
const TITLE_EXTRAS = [
  "", "", "", "", " 🚀", " (#regression)", " — follow-up", " [WIP]", ": «quoted» edge case", " in v2.x",
  " 🐛", " for 日本語 users", " with \"quotes\" and 'apostrophes'", " on ARM64", " ✨ part 2",
];

export function title(rng: Rng): string {
  return `${pick(rng, VERBS)} ${pick(rng, OBJECTS)}${pick(rng, TITLE_EXTRAS)}`;
}

const PARAGRAPHS = [
  "Steps to reproduce:\n1. Run the exporter\n2. Open the output\n3. See the error",
  "This happens on every run since the last upgrade. Logs attached below.",
  "```ts\nconst x = await fetch(url, { headers });\nconsole.log(x.status); // 502\n```",
  "Works for me 👍 — but only with `--no-cache`. 🤷‍♀️",
  "Expected: all rows.\r\nActual: the last page is missing.\r\n",
  "Duplicate of an older report? 🔁 Not sure; the stack trace differs:\n\tat parse (index.js:10:5)\n\tat main (index.js:42:1)",
  "Quote test: \"double\", 'single', `back`, and a backslash \\ plus a path C:\\Users\\dev\\repo.",
  "Unicode: naïve café, Ærøskøbing, 東京, Ελληνικά, עברית (RTL), العربية, 👩‍👩‍👧‍👦 family, 🏳️‍🌈 flag, 𝕏 math.",
  "- [x] tests\n- [ ] docs\n- [ ] changelog",
  "> Quoted reply from the previous comment\n\nI agree, let's ship it.",
  "cc @maintainers — could someone take a look? Thanks! 🙏",
  "Table:\n\n| col | value |\n|-----|-------|\n| a   | 1     |\n| b   | 2     |",
];

/** Issue/PR/release body: sometimes null, sometimes empty, rarely very long. */
export function body(rng: Rng): string | null {
  const r = rng();
  if (r < 0.14) return null;
  if (r < 0.17) return "";
  if (r < 0.18) {
    // ~24 KB: long bodies exist and must survive Parquet string columns intact.
    const para = pick(rng, PARAGRAPHS);
    return Array.from({ length: 400 }, (_, i) => `${i + 1}. ${para.slice(0, 50)}`).join("\n");
  }
  const n = int(rng, 1, 4);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(pick(rng, PARAGRAPHS));
  return parts.join(chance(rng, 0.3) ? "\r\n\r\n" : "\n\n");
}

export function commitMessage(rng: Rng, prNumber?: number, branch?: string): string {
  if (prNumber !== undefined) {
    return `Merge pull request #${prNumber} from ${branch ?? "feature/x"}\n\n${title(rng)}`;
  }
  const head = `${pick(rng, VERBS)} ${pick(rng, OBJECTS)}`;
  const r = rng();
  if (r < 0.5) return head;
  if (r < 0.8) return `${head}\n\n${pick(rng, PARAGRAPHS)}`;
  return `${head} ${pick(rng, ["✅", "🔧", "📝", "♻️"])}\n\nCo-authored-by: ${pick(rng, DISPLAY_NAMES)} <dev@example.com>`;
}

export const REPO_NAMES = [
  "lake-house", "data-pipeline", "widget-factory", "atlas", "hello-world", "orbit-ui", "tiny-tools",
  "docs-site", "api-gateway", "ml-experiments", "infra-live", "mobile-app", "design-tokens", "cli",
  "benchmarks", "dotfiles", "parser-kit", "event-bus", "status-page", "sdk-python", "sdk-go", "scheduler",
];

export const DESCRIPTIONS = [
  "A small library that does one thing well.",
  "Internal tooling — use at your own risk ⚠️",
  "Data pipeline from GitHub to the lake",
  null,
  "Experiments with streaming Parquet writers",
  "Ünïcödé description with émojis 🎉",
  "Monorepo for the web front end",
];

export const LANGUAGES = ["TypeScript", "Go", "Python", "Rust", "JavaScript", "Java", null];
export const TOPICS = ["data", "github", "parquet", "cloudflare", "cli", "api", "etl", "workers", "analytics", "devtools"];

export const LABEL_DEFS: Array<{ name: string; color: string; description: string | null; default: boolean }> = [
  { name: "bug", color: "d73a4a", description: "Something isn't working", default: true },
  { name: "enhancement", color: "a2eeef", description: "New feature or request", default: true },
  { name: "documentation", color: "0075ca", description: "Improvements or additions to documentation", default: true },
  { name: "good first issue", color: "7057ff", description: "Good for newcomers", default: true },
  { name: "help wanted", color: "008672", description: "Extra attention is needed", default: true },
  { name: "question", color: "d876e3", description: "Further information is requested", default: true },
  { name: "wontfix", color: "ffffff", description: "This will not be worked on", default: true },
  { name: "priority: high", color: "b60205", description: null, default: false },
  { name: "area/ci", color: "fbca04", description: "Continuous integration", default: false },
  { name: "dependencies", color: "0366d6", description: "Pull requests that update a dependency file", default: false },
  { name: "🚀 release", color: "5319e7", description: "Release blockers 🚀", default: false },
];

export const BRANCHES = ["feature/export", "fix/pagination", "chore/deps", "docs/readme", "perf/cache", "refactor/io", "dependabot/npm_and_yarn/vite-6.0.1"];
