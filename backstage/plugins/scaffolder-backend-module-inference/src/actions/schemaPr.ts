/**
 * `inference:schema-pr`: propose the ML_INFERENCE_LOAD chart, its values schema and the
 * TypeScript types to the platform-schemas-types repository by running
 * `inference-scaffolder schema-pr --publisher github`. Which repository is platform
 * configuration (`inferenceScaffolder.schemaPr`), not a form answer. The GitHub token
 * reaches the CLI through its environment only (never argv, never the log). In dry-run the
 * CLI gets `--dry-run` and the diff it prints is logged; nothing is pushed or opened.
 *
 * The run that pushes and opens the pull request is a checkpoint: a task the scaffolder
 * recovers after a restart takes the recorded result instead of pushing again.
 *
 * When the repository already has a different chart or interface for the workload type, the
 * CLI changes nothing and exits 1 with a report (`status: differs`): the step fails with the
 * report's one-line summary. Replacing someone else's published chart is a decision, so only
 * an explicit `updateExisting: true` input passes `--update-existing`.
 */
import type { Config } from '@backstage/config';
import { ScmIntegrations } from '@backstage/integration';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import type { JsonObject } from '@backstage/types';
import { CliResult, CliSettings, failureMessage, runCli, stderrLines } from '../cli';

export const SCHEMA_PR_ACTION_ID = 'inference:schema-pr';
const TOKEN_VARIABLE = 'GITHUB_TOKEN';
/** Bump when what the checkpoint records changes shape. */
const CHECKPOINT_KEY = 'schema-pr.v1';

/** Where the CLI works: the schema repository and how to reach it. */
export interface SchemaRepository {
  host: string;
  owner: string;
  repo: string;
  gitUrl: string;
  apiBaseUrl?: string;
  integrationToken?: string;
}

/** What the pull-request run produced, as recorded by the checkpoint. */
interface PullRequestOutcome extends JsonObject {
  status: string;
  pullRequestUrl: string;
  diff: string;
  replaced: string;
  warnings: string[];
}

/** host, owner and repo of a RepoUrlPicker-style location (`github.com?owner=a&repo=b`). */
export function parseLocation(repoUrl: string): { host: string; owner: string; repo: string } {
  const url = new URL(`https://${repoUrl}`);
  const owner = url.searchParams.get('owner');
  const repo = url.searchParams.get('repo');
  if (!owner || !repo) {
    throw new Error(
      `inferenceScaffolder.schemaPr.repoUrl: must name owner and repo (host?owner=..&repo=..), got ${repoUrl}`,
    );
  }
  return { host: url.host, owner, repo };
}

/**
 * The git URL (configured, else https://<host>/<owner>/<repo>.git), the GitHub owner/name
 * and API base URL (from the integration for the host).
 */
function schemaRepository(
  settings: CliSettings,
  integrations: ScmIntegrations,
): SchemaRepository {
  const location = parseLocation(settings.schemaPr.repoUrl!);
  const integration = integrations.github.byHost(location.host);
  return {
    ...location,
    gitUrl:
      settings.schemaPr.gitUrl ?? `https://${location.host}/${location.owner}/${location.repo}.git`,
    apiBaseUrl: integration?.config.apiBaseUrl,
    integrationToken: integration?.config.token,
  };
}

/** The CLI arguments; the token is not among them. */
export function schemaPrArguments(
  target: SchemaRepository,
  baseBranch: string | undefined,
  dryRun: boolean,
  updateExisting = false,
): string[] {
  const args = [
    'schema-pr', '--repo', target.gitUrl, '--publisher', 'github',
    '--github-repo', `${target.owner}/${target.repo}`, '--github-token-env', TOKEN_VARIABLE,
    '--json',
  ];
  if (target.apiBaseUrl) args.push('--github-api-url', target.apiBaseUrl);
  if (baseBranch) args.push('--base', baseBranch);
  if (dryRun) args.push('--dry-run');
  if (updateExisting === true) args.push('--update-existing');
  return args;
}

/** The CLI's JSON summary, or null when stdout holds none. */
function parseSummary(stdout: string): Record<string, any> | null {
  try {
    const summary = JSON.parse(stdout);
    return summary && typeof summary === 'object' ? summary : null;
  } catch {
    return null;
  }
}

function oneLine(text: unknown): string {
  return String(text).split(/\s+/).filter(Boolean).join(' ');
}

/**
 * The step's error for a run that found a different version already in the repository
 * (exit 1, `status: differs`), else null: the report's summary on one line, and how to
 * replace it on purpose.
 */
export function differsMessage(result: CliResult): string | null {
  if (result.code !== 1 || result.timedOut) return null;
  const summary = parseSummary(result.stdout);
  if (!summary || summary.status !== 'differs') return null;
  const said = summary.differences?.summary;
  const what = said ? oneLine(said) : 'the repository already has a different version';
  return (
    `${what}; nothing was pushed or opened ` +
    '(set the step input updateExisting: true to propose replacing it)'
  );
}

/** Run the CLI once and turn its exit and summary into an outcome or a one-line error. */
async function proposeSchema(
  settings: CliSettings,
  args: string[],
  token: string,
  cwd: string,
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<PullRequestOutcome> {
  const result = await runCli(settings, args, {
    cwd,
    signal,
    extraEnv: { [TOKEN_VARIABLE]: token },
  });
  for (const line of stderrLines(result)) {
    log(`inference-scaffolder: ${line}`);
  }
  const differs = differsMessage(result);
  if (differs) throw new Error(differs);
  if (result.code !== 0 || result.timedOut) throw new Error(failureMessage(result, settings));
  const summary = parseSummary(result.stdout);
  if (!summary) throw new Error('inference-scaffolder schema-pr printed no JSON summary');
  return {
    status: String(summary.status ?? ''),
    pullRequestUrl: typeof summary.pull_request === 'string' ? summary.pull_request : '',
    diff: typeof summary.diff === 'string' ? summary.diff : '',
    replaced: summary.differences?.summary ? oneLine(summary.differences.summary) : '',
    warnings: Array.isArray(summary.warnings) ? summary.warnings.map(String) : [],
  };
}

/** The `inference:schema-pr` action; `config` gives the GitHub integrations. */
export function createInferenceSchemaPrAction(settings: CliSettings, config: Config) {
  const integrations = ScmIntegrations.fromConfig(config);
  return createTemplateAction({
    id: SCHEMA_PR_ACTION_ID,
    description:
      'Opens (or updates) the pull request that adds the ML_INFERENCE_LOAD chart and types to ' +
      'platform-schemas-types (inferenceScaffolder.schemaPr), by running `inference-scaffolder schema-pr`.',
    supportsDryRun: true,
    schema: {
      input: {
        token: z =>
          z
            .string()
            .max(1024)
            .describe(
              'GitHub token, e.g. ${{ secrets.USER_OAUTH_TOKEN }}; default: the token of the ' +
                'GitHub integration for the schema repository host',
            )
            .optional(),
        updateExisting: z =>
          z
            .boolean()
            .default(false)
            .describe(
              'When platform-schemas-types already has a different ML_INFERENCE_LOAD chart or ' +
                'interface, propose replacing it (the pull request lists every difference). ' +
                'Default false: the step fails with the differences and changes nothing.',
            )
            .optional(),
      },
      output: {
        pullRequestUrl: z =>
          z.string().describe('URL of the pull request (empty in dry-run or when skipped)'),
        status: z => z.string().describe('opened, updated, unchanged or skipped'),
      },
    },
    async handler(ctx) {
      if (!settings.schemaPr.repoUrl) {
        // The service is generated and published by now: failing here would leave a
        // half-finished task over a setting only the platform team can change.
        ctx.logger.warn(
          'Skipping the schema pull request: inferenceScaffolder.schemaPr.repoUrl is not configured',
        );
        ctx.output('pullRequestUrl', '');
        ctx.output('status', 'skipped');
        return;
      }
      const target = schemaRepository(settings, integrations);
      const token = ctx.input.token || target.integrationToken;
      if (!token) {
        throw new Error(
          `no GitHub token for ${target.host}: configure integrations.github or pass a token secret`,
        );
      }
      const dryRun = Boolean(ctx.isDryRun);
      const args = schemaPrArguments(
        target, settings.schemaPr.baseBranch, dryRun, ctx.input.updateExisting === true,
      );
      ctx.logger.info(
        `Running inference-scaffolder schema-pr for ${target.owner}/${target.repo}` +
          (dryRun ? ' (dry-run: nothing is pushed)' : ''),
      );
      const scratch = await ctx.createTemporaryDirectory();
      let ran = false;
      const run = () => {
        ran = true;
        return proposeSchema(settings, args, token, scratch, l => ctx.logger.info(l), ctx.signal);
      };
      // A dry run changes nothing, so there is nothing to remember across a recovery.
      const outcome = dryRun ? await run() : await ctx.checkpoint({ key: CHECKPOINT_KEY, fn: run });
      if (!ran) {
        ctx.logger.info('The schema pull request was proposed by an earlier attempt of this task');
      }
      if (outcome.replaced) {
        ctx.logger.warn(`The pull request replaces what the repository has: ${outcome.replaced}`);
      }
      if (dryRun) {
        ctx.logger.info(
          outcome.diff ? `Diff the pull request would carry:\n${outcome.diff}` : 'No change to propose',
        );
      }
      const url = outcome.pullRequestUrl;
      ctx.logger.info(`Schema pull request: ${outcome.status}${url ? ` ${url}` : ''}`);
      for (const warning of outcome.warnings) {
        ctx.logger.warn(warning);
      }
      ctx.output('pullRequestUrl', url);
      ctx.output('status', outcome.status);
    },
  });
}
