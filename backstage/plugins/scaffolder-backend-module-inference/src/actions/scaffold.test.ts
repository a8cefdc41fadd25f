import fs from 'node:fs';
import path from 'node:path';
import { validate } from 'jsonschema';
import { readSettings } from '../cli';
import { actionContext, makeFakeCli } from '../testing/fakeCli';
import { createInferenceScaffoldAction } from './scaffold';

const MINIMAL_VALUES = {
  service_name: 'chat',
  model_id: 'Qwen/Qwen2.5-0.5B-Instruct',
  model_revision: 'main',
};

function setUp(scenario = 'ok', section = {}) {
  const cli = makeFakeCli();
  const action = createInferenceScaffoldAction(
    readSettings(cli.config({ inferenceScaffolder: section }, scenario)),
  );
  return { cli, action };
}

describe('inference:scaffold', () => {
  it('passes the answers as a JSON file and fills the target path', async () => {
    const { cli, action } = setUp();
    const values = { ...MINIMAL_VALUES, environments: ['dev', 'prod'], gpu_count: 2 };
    const { ctx, outputs } = actionContext(cli, { targetPath: 'svc', values });
    await action.handler(ctx);

    const [call] = cli.calls();
    expect(call.answers).toEqual(values); // types kept: a list stays a list, a number a number
    expect(call.argv[0]).toBe('new');
    expect(call.argv).toEqual(expect.arrayContaining(['--no-input', '--json', '--no-git']));
    expect(fs.readFileSync(path.join(ctx.workspacePath, 'svc', 'catalog-info.yaml'), 'utf8'))
      .toBe('kind: Component\n');
    expect(outputs).toEqual({
      path: 'svc',
      serviceName: 'chat',
      environments: ['dev'],
      files: ['catalog-info.yaml', 'environments/dev/values.yaml'],
      summary: expect.objectContaining({ service_name: 'chat' }),
    });
  });

  it('runs in a dry run too, so the template editor shows the files', async () => {
    const { cli, action } = setUp();
    expect(action.supportsDryRun).toBe(true);
    const { ctx, lines, outputs } = actionContext(cli, { values: MINIMAL_VALUES }, { dryRun: true });
    await action.handler(ctx);
    expect(lines).toContain('info: Running inference-scaffolder new (dry-run)');
    expect(fs.existsSync(path.join(ctx.workspacePath, 'environments', 'dev', 'values.yaml')))
      .toBe(true);
    expect(outputs.serviceName).toBe('chat');
  });

  it("fails the step with the CLI's one-line error and logs its other lines", async () => {
    const { cli, action } = setUp('refuse');
    const { ctx, lines } = actionContext(cli, {
      values: { ...MINIMAL_VALUES, max_input_tokens: 4096, max_total_tokens: 4096 },
    });
    await expect(action.handler(ctx)).rejects.toThrow(
      /^max_input_tokens: must be lower than max_total_tokens \(4096 >= 4096\)$/,
    );
    expect(lines).toContain('info: inference-scaffolder: rendering...');
    expect(fs.readdirSync(ctx.workspacePath)).toEqual([]);
  });

  it('kills the CLI and its process group after the timeout', async () => {
    const { cli, action } = setUp('slow', { timeoutSeconds: 1 });
    const { ctx } = actionContext(cli, { values: MINIMAL_VALUES });
    await expect(action.handler(ctx)).rejects.toThrow('inference-scaffolder timed out after 1s');
    const pid = Number(fs.readFileSync(path.join(cli.dir, 'cli.pid'), 'utf8'));
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it('names the setting when the CLI is missing', async () => {
    const { cli, action } = setUp('ok', { command: '/nonexistent/inference-scaffolder' });
    const { ctx } = actionContext(cli, { values: MINIMAL_VALUES });
    await expect(action.handler(ctx)).rejects.toThrow('inferenceScaffolder.command');
  });

  it("gives the CLI only its own environment, not the backend's secrets", async () => {
    process.env.BACKEND_SECRET = 'db-password';
    process.env.INFERENCE_SCAFFOLDER_CRD_SCHEMAS = '/crds';
    try {
      const { cli, action } = setUp();
      const { ctx } = actionContext(cli, { values: MINIMAL_VALUES });
      await action.handler(ctx);
      const { env } = cli.calls()[0];
      expect(env.BACKEND_SECRET).toBeUndefined();
      expect(env.INFERENCE_SCAFFOLDER_CRD_SCHEMAS).toBe('/crds');
      expect(env.PATH.split(path.delimiter)[0]).toBe(path.dirname(cli.command));
    } finally {
      delete process.env.BACKEND_SECRET;
      delete process.env.INFERENCE_SCAFFOLDER_CRD_SCHEMAS;
    }
  });

  it('publishes an input schema that refuses what the answers schema refuses', () => {
    const { action } = setUp();
    const schema = action.schema!.input!;
    expect(validate({ values: MINIMAL_VALUES }, schema).valid).toBe(true);
    const refused = [
      { values: { ...MINIMAL_VALUES, service_name: 'Not_A_Dns_Label' } },
      { values: { ...MINIMAL_VALUES, service_name: 'yes' } }, // the YAML guard (`not`)
      { values: { ...MINIMAL_VALUES, environments: ['qa'] } },
      { values: { ...MINIMAL_VALUES, environments: ['dev', 'dev'] } }, // uniqueItems
      { values: { ...MINIMAL_VALUES, model_config: '/etc/passwd' } }, // not offered here
      { values: { ...MINIMAL_VALUES, unknown_answer: 1 } },
      { values: { service_name: 'chat' } }, // model_id and model_revision have no default
      { targetPath: '../outside', values: MINIMAL_VALUES },
      { targetPath: '/etc', values: MINIMAL_VALUES },
    ];
    for (const input of refused) {
      expect([input, validate(input, schema).valid]).toEqual([input, false]);
    }
  });
});
