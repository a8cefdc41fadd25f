import { readSettings } from '../cli';
import { actionContext, makeFakeCli } from '../testing/fakeCli';
import { createInferenceSchemaPrAction } from './schemaPr';

const TOKEN = `ghp_${'jestTokenThatMustNeverBeLogged0001'}`;
const SCHEMA_REPO = { repoUrl: 'github.com?owner=acme&repo=platform-schemas-types' };
const PULL = 'https://github.com/acme/platform-schemas-types/pull/7';

function setUp(scenario = 'ok', options: { schemaPr?: object; token?: string } = {}) {
  const cli = makeFakeCli();
  const integrations = options.token ? { github: [{ host: 'github.com', token: options.token }] } : {};
  const config = cli.config(
    { integrations, inferenceScaffolder: { schemaPr: options.schemaPr ?? SCHEMA_REPO } },
    scenario,
  );
  return { cli, action: createInferenceSchemaPrAction(readSettings(config), config) };
}

describe('inference:schema-pr', () => {
  it('hands the integration token over in the environment only', async () => {
    const { cli, action } = setUp('ok', { token: TOKEN });
    const { ctx, outputs, lines } = actionContext(cli, {});
    await action.handler(ctx);
    const [call] = cli.calls();
    expect(call.env.GITHUB_TOKEN).toBe(TOKEN);
    expect(JSON.stringify(call.argv)).not.toContain(TOKEN);
    expect(JSON.stringify(lines)).not.toContain(TOKEN);
    const option = (name: string) => call.argv[call.argv.indexOf(name) + 1];
    expect(call.argv[0]).toBe('schema-pr');
    expect(option('--repo')).toBe('https://github.com/acme/platform-schemas-types.git');
    expect(option('--github-repo')).toBe('acme/platform-schemas-types');
    expect(option('--github-api-url')).toBe('https://api.github.com');
    expect(call.argv).not.toContain('--dry-run');
    expect(outputs).toEqual({ pullRequestUrl: PULL, status: 'opened' });
    expect(lines).toContain('info: inference-scaffolder: pushed branch ml-inference-load');
    expect(lines).toContain('warn: base chart is new');
  });

  it('prefers a token secret from the input', async () => {
    const { cli, action } = setUp('ok', { token: 'integration-token' });
    await action.handler(actionContext(cli, { token: TOKEN }).ctx);
    expect(cli.calls()[0].env.GITHUB_TOKEN).toBe(TOKEN);
  });

  it('passes --dry-run in a dry run, logs the diff and records no checkpoint', async () => {
    const { cli, action } = setUp('ok', { token: TOKEN });
    expect(action.supportsDryRun).toBe(true);
    const checkpoints = new Map<string, unknown>();
    const { ctx, outputs, lines } = actionContext(cli, {}, { dryRun: true, checkpoints });
    await action.handler(ctx);
    expect(cli.calls()[0].argv).toContain('--dry-run');
    expect(lines.some(line => line.includes('MlInferenceLoadSchema'))).toBe(true);
    expect(outputs.pullRequestUrl).toBe('');
    expect(checkpoints.size).toBe(0);
  });

  it('does not propose again when a recovered task replays its checkpoint', async () => {
    const { cli, action } = setUp('ok', { token: TOKEN });
    const checkpoints = new Map<string, unknown>();
    const first = actionContext(cli, {}, { checkpoints });
    await action.handler(first.ctx);
    expect(cli.calls()).toHaveLength(1);
    expect(checkpoints.size).toBe(1);

    // The scaffolder restarts and recovers the task: the step runs again with its state.
    const recovered = actionContext(cli, {}, { checkpoints });
    await action.handler(recovered.ctx);
    expect(cli.calls()).toHaveLength(1); // the CLI did not push or open anything again
    expect(recovered.outputs).toEqual({ pullRequestUrl: PULL, status: 'opened' });
    expect(recovered.lines).toContain(
      'info: The schema pull request was proposed by an earlier attempt of this task',
    );
  });

  it('fails without a token before running the CLI', async () => {
    const { cli, action } = setUp();
    await expect(action.handler(actionContext(cli, {}).ctx)).rejects.toThrow(
      'no GitHub token for github.com',
    );
    expect(cli.calls()).toHaveLength(0);
  });

  it('is skipped when no schema repository is configured', async () => {
    const { cli, action } = setUp('ok', { schemaPr: {}, token: TOKEN });
    const { ctx, outputs, lines } = actionContext(cli, {});
    await action.handler(ctx);
    expect(outputs).toEqual({ pullRequestUrl: '', status: 'skipped' });
    expect(lines.some(line => line.startsWith('warn: Skipping'))).toBe(true);
    expect(cli.calls()).toHaveLength(0);
  });

  it('fails in one line when the repository has a different version', async () => {
    const { cli, action } = setUp('differs', { token: TOKEN });
    const checkpoints = new Map<string, unknown>();
    await expect(action.handler(actionContext(cli, {}, { checkpoints }).ctx)).rejects.toThrow(
      /^charts\/ml-inference-load 0\.0\.3 on main differs \(files: 3 removed\); nothing was pushed or opened \(set the step input updateExisting: true to propose replacing it\)$/,
    );
    expect(cli.calls()[0].argv).not.toContain('--update-existing');
    expect(checkpoints.size).toBe(0); // a retry runs the CLI again

    const { ctx, outputs, lines } = actionContext(cli, { updateExisting: true });
    await action.handler(ctx);
    expect(cli.calls()[1].argv).toContain('--update-existing');
    expect(outputs.status).toBe('opened');
    expect(lines).toContain(
      'warn: The pull request replaces what the repository has: charts/ml-inference-load 0.0.3 on main differs (files: 3 removed)',
    );
  });

  it('kills the CLI after the timeout', async () => {
    const cli = makeFakeCli();
    const config = cli.config(
      {
        integrations: { github: [{ host: 'github.com', token: TOKEN }] },
        inferenceScaffolder: { schemaPr: SCHEMA_REPO, timeoutSeconds: 1 },
      },
      'slow',
    );
    const action = createInferenceSchemaPrAction(readSettings(config), config);
    await expect(action.handler(actionContext(cli, {}).ctx)).rejects.toThrow(
      'inference-scaffolder timed out after 1s',
    );
  });
});
