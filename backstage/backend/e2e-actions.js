'use strict';
/**
 * Test-only scaffolder actions for the offline end-to-end test. NOT for production.
 *
 * `inference-e2e:publish-local` takes the place of `publish:github`: it commits the task
 * workspace and pushes it to a bare repository under `inferenceScaffolderE2e.gitRoot`, and
 * copies the tree under `inferenceScaffolderE2e.serveRoot`, which the test serves over
 * loopback HTTP so that the real `catalog:register` can read the generated
 * catalog-info.yaml (allowed by `backend.reading.allow`).
 */
const fs = require('node:fs/promises');
const path = require('node:path');
const { execFile } = require('node:child_process');
const { promisify } = require('node:util');
const { coreServices, createBackendModule } = require('@backstage/backend-plugin-api');
const { scaffolderActionsExtensionPoint } = require('@backstage/plugin-scaffolder-node');

const run = promisify(execFile);
const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Owner and repository name from a RepoUrlPicker value such as `github.com?owner=a&repo=b`. */
function parseRepoUrl(repoUrl) {
  const url = new URL(`https://${repoUrl}`);
  const owner = url.searchParams.get('owner') || '';
  const repo = url.searchParams.get('repo') || '';
  if (!SAFE_SEGMENT.test(owner) || !SAFE_SEGMENT.test(repo) || repo.endsWith('.git')) {
    throw new Error(`repoUrl: owner and repo must be plain names, got ${repoUrl}`);
  }
  return { owner, repo };
}

async function git(cwd, ...args) {
  const identity = ['-c', 'user.name=Backstage E2E', '-c', 'user.email=e2e@localhost'];
  return run('git', [...identity, ...args], { cwd, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
}

function createPublishLocalAction(settings) {
  return {
    id: 'inference-e2e:publish-local',
    description: 'TEST ONLY: push the workspace to a local bare repository instead of GitHub.',
    supportsDryRun: false,
    schema: {
      input: {
        type: 'object',
        required: ['repoUrl'],
        properties: {
          repoUrl: { type: 'string' },
          sourcePath: { type: 'string' },
          defaultBranch: { type: 'string' },
          description: { type: 'string' },
        },
      },
    },
    async handler(ctx) {
      const { owner, repo } = parseRepoUrl(ctx.input.repoUrl);
      const branch = ctx.input.defaultBranch || 'main';
      const source = ctx.input.sourcePath
        ? path.resolve(ctx.workspacePath, ctx.input.sourcePath)
        : ctx.workspacePath;
      const bare = path.join(settings.gitRoot, owner, `${repo}.git`);
      await fs.mkdir(path.dirname(bare), { recursive: true });
      await run('git', ['init', '--bare', '--quiet', '-b', branch, bare]);
      await git(source, 'init', '--quiet', '-b', branch);
      await git(source, 'add', '--all');
      await git(source, 'commit', '--quiet', '-m', 'initial commit');
      await git(source, 'push', '--quiet', bare, `HEAD:refs/heads/${branch}`);
      const { stdout } = await git(source, 'rev-parse', 'HEAD');
      const served = path.join(settings.serveRoot, owner, repo);
      await fs.mkdir(path.dirname(served), { recursive: true });
      await fs.cp(source, served, {
        recursive: true,
        filter: src => path.basename(src) !== '.git',
      });
      const contentsUrl = `${settings.serveBaseUrl}/${owner}/${repo}`;
      ctx.logger.info(`pushed ${branch} to ${bare}`);
      ctx.output('remoteUrl', `file://${bare}`);
      ctx.output('repoContentsUrl', contentsUrl);
      ctx.output('catalogInfoUrl', `${contentsUrl}/catalog-info.yaml`);
      ctx.output('commitHash', stdout.trim());
    },
  };
}

module.exports = {
  default: createBackendModule({
    pluginId: 'scaffolder',
    moduleId: 'inference-e2e',
    register(env) {
      env.registerInit({
        deps: {
          scaffolder: scaffolderActionsExtensionPoint,
          config: coreServices.rootConfig,
        },
        async init({ scaffolder, config }) {
          const e2e = config.getConfig('inferenceScaffolderE2e');
          scaffolder.addActions(
            createPublishLocalAction({
              gitRoot: e2e.getString('gitRoot'),
              serveRoot: e2e.getString('serveRoot'),
              serveBaseUrl: e2e.getString('serveBaseUrl').replace(/\/+$/, ''),
            }),
          );
        },
      });
    },
  }),
};
