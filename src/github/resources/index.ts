/** Every resource's spec, by table name: what the planner and fetcher iterate over. */
import type { ResourceName } from "../../lake/schemas";
import { commits } from "./commits";
import { issues } from "./issues";
import { pullRequests } from "./pull_requests";
import { reactions } from "./reactions";
import { releases } from "./releases";
import { repositories } from "./repositories";
import { stargazers } from "./stargazers";
import type { ResourceSpec } from "./types";
import { workflowRuns } from "./workflow_runs";

export const RESOURCE_SPECS: Record<ResourceName, ResourceSpec> = {
  repositories,
  issues,
  pull_requests: pullRequests,
  commits,
  stargazers,
  releases,
  workflow_runs: workflowRuns,
  reactions,
};

export { reactedIssueNumbers } from "./issues";
export { INSTALLATION_REPOS_PAGE, repoRefFromItem } from "./repositories";
export { DEFAULT_ACCEPT, type RepoRef, type ResourceSpec, type RowContext } from "./types";
