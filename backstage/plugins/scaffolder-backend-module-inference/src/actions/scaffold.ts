/**
 * `inference:scaffold`: generate a service repository with the project's own CLI, so the
 * cookiecutter hooks (validation, injection guard, rendering checks) run exactly as they
 * do on a laptop. Generation has no side effects outside the workspace, so the action
 * supports dry-run: the template editor shows the generated files.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { resolveSafeChildPath } from '@backstage/backend-plugin-api';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import type { JsonObject } from '@backstage/types';
import { CliSettings, failureMessage, runCli, stderrLines } from '../cli';
import { withAnswersSchema } from './answersSchema';

export const SCAFFOLD_ACTION_ID = 'inference:scaffold';
const SAFE_RELATIVE_PATH = /^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._/-]*$/;

interface Summary extends JsonObject {}

/** Move the generated tree into the workspace; refuses to overwrite files already there. */
async function copyIntoWorkspace(generated: string, target: string): Promise<void> {
  await fs.mkdir(target, { recursive: true });
  await fs.cp(generated, target, { recursive: true, force: false, errorOnExist: true });
}

/** Parse the CLI's `--json` summary and make sure its output folder is where we asked. */
function readSummary(stdout: string, outputParent: string): { summary: Summary; output: string } {
  let summary: Summary;
  try {
    summary = JSON.parse(stdout);
  } catch {
    throw new Error('inference-scaffolder printed no JSON summary (is the CLI too old?)');
  }
  const output = path.resolve(outputParent, String(summary.output ?? ''));
  if (path.dirname(output) !== path.resolve(outputParent)) {
    throw new Error(`inference-scaffolder reported an unexpected output folder: ${summary.output}`);
  }
  return { summary, output };
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

/** The `inference:scaffold` action, running the CLI as `settings` say. */
export function createInferenceScaffoldAction(settings: CliSettings) {
  const action = createTemplateAction({
    id: SCAFFOLD_ACTION_ID,
    description:
      'Generates an ML inference service repository (Helm chart per environment, catalog-info.yaml) ' +
      'by running `inference-scaffolder new` with the answers; the CLI re-validates them.',
    examples: [
      {
        description: 'Generate the service into the workspace root',
        example: [
          'steps:',
          '  - id: scaffold',
          '    action: inference:scaffold',
          '    input:',
          '      targetPath: .',
          '      values:',
          '        service_name: ${{ parameters.service_name }}',
          '        environments: ${{ parameters.environments }}',
        ].join('\n'),
      },
    ],
    supportsDryRun: true,
    schema: {
      input: {
        targetPath: z =>
          z
            .string()
            .max(255)
            .regex(SAFE_RELATIVE_PATH)
            .describe('Folder inside the workspace to generate into (default: the workspace root).')
            .optional(),
        values: z =>
          z
            .record(z.unknown())
            .describe('The answers, as in an answers file; the CLI re-validates them.'),
      },
      output: {
        path: z => z.string().describe('Where the service was generated, relative to the workspace'),
        serviceName: z => z.string().describe('Service name'),
        environments: z => z.array(z.string()).describe('Environments generated'),
        files: z => z.array(z.string()).describe('Generated files'),
        summary: z =>
          z.record(z.unknown()).describe("The CLI's JSON summary (incl. the validation report)"),
      },
    },
    async handler(ctx) {
      const targetPath = ctx.input.targetPath ?? '.';
      const target = resolveSafeChildPath(ctx.workspacePath, targetPath);
      const scratch = await ctx.createTemporaryDirectory();
      const answersFile = path.join(scratch, 'answers.json');
      const outputParent = path.join(scratch, 'out');
      await fs.writeFile(answersFile, JSON.stringify(ctx.input.values, null, 2), { mode: 0o600 });
      await fs.mkdir(outputParent);

      ctx.logger.info(`Running inference-scaffolder new${ctx.isDryRun ? ' (dry-run)' : ''}`);
      const result = await runCli(
        settings,
        ['new', '--answers', answersFile, '--no-input', '--output-dir', outputParent, '--no-git', '--json'],
        { cwd: scratch, signal: ctx.signal },
      );
      for (const line of stderrLines(result)) {
        ctx.logger.info(`inference-scaffolder: ${line}`);
      }
      if (result.code !== 0 || result.timedOut) {
        throw new Error(failureMessage(result, settings));
      }
      const { summary, output } = readSummary(result.stdout, outputParent);
      await copyIntoWorkspace(output, target);

      const files = stringList(summary.files);
      const environments = stringList(summary.environments);
      ctx.logger.info(
        `Generated ${summary.service_name} (${files.length} files) for ${environments.join(', ')} into ${targetPath}`,
      );
      ctx.output('path', targetPath);
      ctx.output('serviceName', String(summary.service_name ?? ''));
      ctx.output('environments', environments);
      ctx.output('files', files);
      ctx.output('summary', summary);
    },
  });
  return withAnswersSchema(action);
}
