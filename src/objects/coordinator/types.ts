/** Plain-data shapes the RunCoordinator returns over RPC and sends to WebSocket watchers. */
import type { Coverage } from "../../github/jobs";
import type { ResourceName } from "../../lake/schemas";

export type RunStatusName = "running" | "completed" | "completed_with_errors" | "failed" | "cancelled";
export type RunMode = "full" | "incremental";

export interface CreateRunRequest {
  trigger: "api" | "cron";
  repos?: string[];
  resources: ResourceName[];
  /** "full" forces a full run; otherwise incremental once a run has succeeded. */
  mode?: RunMode;
}
export type CreateRunResult = { runId: string; startedAt: string; mode: RunMode } | { skipped: string; reason: string };

export interface FileEntry {
  key: string;
  resource: string;
  rows: number;
  bytes: number;
}

export interface RunCounters {
  requests: number;
  notModified: number;
  pages: number;
  rows: number;
  bytes: number;
  files: number;
  retries: number;
  rateLimitWaits: number;
}

/** The run's plan: its estimated cost in requests, what is left, and when it should end at the current budget. */
export interface RunEstimate {
  estimatedRequests: number;
  remainingRequests: number;
  /** Requests per second over the last minutes of the run (null before there is any). */
  observedRate: number | null;
  quotaBound: boolean;
  etaSeconds: number | null;
  etaAt: string | null;
}

export interface RunSummary {
  runId: string;
  status: RunStatusName;
  trigger: string;
  mode: RunMode;
  startedAt: string;
  finishedAt: string | null;
  resources: string[];
  repositories: number;
  tasks: { total: number; waiting: number; pending: number; running: number; done: number; failed: number; dead: number; cancelled: number };
  coverage: Partial<Record<Coverage, number>>;
  counters: RunCounters;
  estimate: RunEstimate | null;
  manifestKey: string | null;
  error: string | null;
  /** Task details were pruned by retention; the summary is what is left. */
  pruned: boolean;
}

export interface ResourceProgress {
  tasks: number;
  done: number;
  failed: number;
  rows: number;
  files: number;
  requests: number;
}

export interface RunStatus extends RunSummary {
  byResource: Record<string, ResourceProgress>;
  files: FileEntry[];
  errors: Array<{ repository: string; resource: string; coverage: string | null; state: string; error: string | null }>;
}

export type FeedMessage =
  | { type: "snapshot"; run: RunStatus }
  | { type: "progress"; run: RunSummary; byResource: Record<string, ResourceProgress> }
  | { type: "completed"; run: RunStatus };

export interface RepoProgress {
  repository: string;
  tasks: number;
  finished: number;
  failed: number;
  rows: number;
  requests: number;
}
