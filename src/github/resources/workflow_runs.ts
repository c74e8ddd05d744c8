/**
 * workflow_runs: `GET /repos/{o}/{r}/actions/runs`. Unlike the other listings the body is an
 * envelope, `{total_count, workflow_runs: [...]}`.
 * https://docs.github.com/rest/actions/workflow-runs#list-workflow-runs-for-a-repository
 */
import { asObject, commonColumns, describeJson, int, isObject, obj, repoPath, requiredInt, str, time } from "./fields";
import type { ResourceSpec } from "./types";

export const workflowRuns: ResourceSpec = {
  name: "workflow_runs",
  firstPage: (repo) => `${repoPath(repo, "workflow_runs")}/actions/runs?per_page=100`,
  items(body) {
    if (isObject(body) && Array.isArray(body.workflow_runs)) return body.workflow_runs;
    throw new Error(`workflow_runs: expected an object with a "workflow_runs" array, got ${describeJson(body)}`);
  },
  toRow(item, ctx) {
    const o = asObject(item, "workflow_runs");
    return {
      ...commonColumns(ctx),
      id: requiredInt(o, "id", "workflow_runs"),
      name: str(o, "name"),
      workflow_id: int(o, "workflow_id"),
      run_number: int(o, "run_number"),
      run_attempt: int(o, "run_attempt"),
      event: str(o, "event"),
      status: str(o, "status"),
      conclusion: str(o, "conclusion"),
      head_branch: str(o, "head_branch"),
      head_sha: str(o, "head_sha"),
      actor_login: str(obj(o, "actor"), "login"),
      created_at: time(o, "created_at"),
      updated_at: time(o, "updated_at"),
      run_started_at: time(o, "run_started_at"),
    };
  },
  primaryKey: ["id"],
};
