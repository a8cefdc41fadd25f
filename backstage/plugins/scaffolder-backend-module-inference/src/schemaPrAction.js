'use strict';
/**
 * `inference:schema-pr`: propose the ML_INFERENCE_LOAD chart, its values schema and the
 * TypeScript types to the platform-schemas-types repository by running
 * `inference-scaffolder schema-pr --publisher github`. Which repository is platform
 * configuration (`inferenceScaffolder.schemaPr`), not a form answer. The GitHub token
 * reaches the CLI through its environment only (never argv, never the log). In dry-run the
 * CLI gets `--dry-run` and the diff it prints is logged; nothing is pushed or opened.
 *
 * When the repository already has a different chart or interface for the workload type, the
 * CLI changes nothing and exits 1 with a report (`status: differs`): the step fails with the
 * report's one-line summary. Replacing someone else's published chart is a decision, so only
 * an explicit `updateExisting: true` input passes `--update-existing`.
 */
const { ScmIntegrations } = require('@backstage/integration');
const { runCli, failureMessage } = require('./cli');
const { schemaPrInputSchema, schemaPrOutputSchema } = require('./schemas');

const ACTION_ID = 'inference:schema-pr';
const TOKEN_VARIABLE = 'GITHUB_TOKEN';

/** host, owner and repo of a RepoUrlPicker-style location (`github.com?owner=a&repo=b`). */
function parseLocation(repoUrl) {
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
 * Where the CLI works: the git URL (configured, else https://<host>/<owner>/<repo>.git),
 * the GitHub owner/name and API base URL (from the integration for the host).
 */
function schemaRepository(settings, integrations) {
  const location = parseLocation(settings.schemaPr.repoUrl);
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
function schemaPrArguments(target, baseBranch, dryRun, updateExisting = false) {
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
function parseSummary(stdout) {
  try {
    const summary = JSON.parse(stdout);
    return summary && typeof summary === 'object' ? summary : null;
  } catch {
    return null;
  }
}

function oneLine(text) {
  return String(text).split(/\s+/).filter(Boolean).join(' ');
}

/**
 * The step's error for a run that found a different version already in the repository
 * (exit 1, `status: differs`), else null: the report's summary on one line, and how to
 * replace it on purpose.
 */
function differsMessage(result) {
  if (result.code !== 1 || result.timedOut) return null;
  const summary = parseSummary(result.stdout);
  if (!summary || summary.status !== 'differs') return null;
  const said = summary.differences && summary.differences.summary;
  const what = said ? oneLine(said) : 'the repository already has a different version';
  return (
    `${what}; nothing was pushed or opened ` +
    '(set the step input updateExisting: true to propose replacing it)'
  );
}

function createInferenceSchemaPrAction(settings, config) {
  const integrations = ScmIntegrations.fromConfig(config);
  return {
    id: ACTION_ID,
    description:
      'Opens (or updates) the pull request that adds the ML_INFERENCE_LOAD chart and types to ' +
      'platform-schemas-types (inferenceScaffolder.schemaPr), by running `inference-scaffolder schema-pr`.',
    supportsDryRun: true,
    schema: { input: schemaPrInputSchema(), output: schemaPrOutputSchema() },
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
      const args = schemaPrArguments(
        target, settings.schemaPr.baseBranch, ctx.isDryRun, ctx.input.updateExisting,
      );
      ctx.logger.info(
        `Running inference-scaffolder schema-pr for ${target.owner}/${target.repo}` +
          (ctx.isDryRun ? ' (dry-run: nothing is pushed)' : ''),
      );
      const scratch = await ctx.createTemporaryDirectory();
      const result = await runCli(settings, args, {
        cwd: scratch,
        signal: ctx.signal,
        extraEnv: { [TOKEN_VARIABLE]: token },
      });
      for (const line of result.stderr.split(/\r?\n/).filter(Boolean)) {
        ctx.logger.info(`inference-scaffolder: ${line}`);
      }
      const differs = differsMessage(result);
      if (differs) {
        throw new Error(differs);
      }
      if (result.code !== 0 || result.timedOut) {
        throw new Error(failureMessage(result, settings));
      }
      const summary = parseSummary(result.stdout);
      if (!summary) {
        throw new Error('inference-scaffolder schema-pr printed no JSON summary');
      }
      if (summary.differences && summary.differences.summary) {
        ctx.logger.warn(
          `The pull request replaces what the repository has: ${oneLine(summary.differences.summary)}`,
        );
      }
      if (ctx.isDryRun) {
        ctx.logger.info(
          summary.diff ? `Diff the pull request would carry:\n${summary.diff}` : 'No change to propose',
        );
      }
      const url = typeof summary.pull_request === 'string' ? summary.pull_request : '';
      ctx.logger.info(`Schema pull request: ${summary.status}${url ? ` ${url}` : ''}`);
      for (const warning of summary.warnings ?? []) {
        ctx.logger.warn(String(warning));
      }
      ctx.output('pullRequestUrl', url);
      ctx.output('status', String(summary.status ?? ''));
    },
  };
}

module.exports = {
  createInferenceSchemaPrAction, schemaPrArguments, parseLocation, differsMessage, ACTION_ID,
};
