'use strict';
/**
 * `inference:schema-pr`: propose the ML_INFERENCE_LOAD chart, its values schema and the
 * TypeScript types to the platform-schemas-types repository by running
 * `inference-scaffolder schema-pr`. The GitHub token reaches the CLI through its
 * environment only (never argv, never the log). In dry-run the CLI gets `--dry-run` and the
 * diff it prints is logged instead of a pull request being opened.
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
    throw new Error(`repoUrl: must name owner and repo (host?owner=..&repo=..), got ${repoUrl}`);
  }
  return { host: url.host, owner, repo };
}

/** The token: the action input (a task secret) first, else the integration for the host. */
function githubToken(integrations, host, inputToken) {
  if (inputToken) return inputToken;
  return integrations?.github.byHost(host)?.config.token;
}

/** The CLI arguments; the token is not among them. */
function schemaPrArguments({ host, owner, repo }, baseBranch, apiBaseUrl, dryRun) {
  const args = ['schema-pr', '--repo', `${owner}/${repo}`, '--json'];
  if (baseBranch) args.push('--base', baseBranch);
  if (host !== 'github.com' && apiBaseUrl) args.push('--github-api-url', apiBaseUrl);
  if (dryRun) args.push('--dry-run');
  return args;
}

function createInferenceSchemaPrAction(settings, config) {
  const integrations = config ? ScmIntegrations.fromConfig(config) : undefined;
  return {
    id: ACTION_ID,
    description:
      'Opens (or finds) the pull request that adds the ML_INFERENCE_LOAD chart and types to ' +
      'platform-schemas-types, by running `inference-scaffolder schema-pr`.',
    supportsDryRun: true,
    schema: { input: schemaPrInputSchema(), output: schemaPrOutputSchema() },
    async handler(ctx) {
      const repoUrl = ctx.input.repoUrl ?? settings.schemaPrRepoUrl;
      if (!repoUrl) {
        // The service is already generated and published by now: failing here would leave
        // a half-finished task for a setting only the platform team can fix.
        ctx.logger.warn(
          'Skipping the schema pull request: no repoUrl input and inferenceScaffolder.schemaPr.repoUrl is not configured',
        );
        ctx.output('pullRequestUrl', '');
        ctx.output('summary', { skipped: true });
        return;
      }
      const location = parseLocation(repoUrl);
      const token = githubToken(integrations, location.host, ctx.input.token);
      if (!token && !ctx.isDryRun) {
        throw new Error(
          `no GitHub token for ${location.host}: configure integrations.github or pass a token secret`,
        );
      }
      const apiBaseUrl = integrations?.github.byHost(location.host)?.config.apiBaseUrl;
      const args = schemaPrArguments(
        location,
        ctx.input.baseBranch ?? settings.schemaPrBaseBranch,
        apiBaseUrl,
        ctx.isDryRun,
      );
      ctx.logger.info(
        `Running inference-scaffolder schema-pr for ${location.owner}/${location.repo}` +
          (ctx.isDryRun ? ' (dry-run)' : ''),
      );
      const scratch = await ctx.createTemporaryDirectory();
      const result = await runCli(settings, args, {
        cwd: scratch,
        signal: ctx.signal,
        extraEnv: token ? { [TOKEN_VARIABLE]: token } : {},
      });
      for (const line of result.stderr.split(/\r?\n/).filter(Boolean)) {
        ctx.logger.info(`inference-scaffolder: ${line}`);
      }
      if (result.code !== 0 || result.timedOut) {
        throw new Error(failureMessage(result, settings));
      }
      let summary = {};
      try {
        summary = JSON.parse(result.stdout);
      } catch {
        throw new Error('inference-scaffolder schema-pr printed no JSON summary');
      }
      if (ctx.isDryRun && typeof summary.diff === 'string') {
        ctx.logger.info(`Diff the pull request would carry:\n${summary.diff}`);
      }
      const url = typeof summary.url === 'string' ? summary.url : '';
      if (url) ctx.logger.info(`Schema pull request: ${url}`);
      ctx.output('pullRequestUrl', url);
      ctx.output('summary', summary);
    },
  };
}

module.exports = { createInferenceSchemaPrAction, schemaPrArguments, parseLocation, ACTION_ID };
