/** One JSON line per meaningful event, for `wrangler tail` and Workers Logs. Never pass a token in `fields`. */

export type LogLevel = "debug" | "info" | "warn" | "error";

export function log(event: string, fields: Record<string, unknown> = {}, level: LogLevel = "info"): void {
  const line = JSON.stringify({ level, event, ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

/** Error text safe to log or store: bounded, never a stack. */
export function errorText(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}
