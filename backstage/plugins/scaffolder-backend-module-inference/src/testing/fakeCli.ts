/**
 * Test support: a stand-in for the inference-scaffolder CLI (a Node script) that records
 * what it was given and answers by scenario, and an action context built with
 * createMockActionContext whose log lines can be read back.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigReader } from '@backstage/config';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import type { JsonObject } from '@backstage/types';

const FAKE_CLI = String.raw`
const fs = require('node:fs');
const path = require('node:path');
const args = process.argv.slice(2);
const record = process.env.INFERENCE_SCAFFOLDER_TEST_RECORD;
const calls = fs.existsSync(record) ? JSON.parse(fs.readFileSync(record, 'utf8')) : [];
const entry = { argv: args, env: { ...process.env } };
calls.push(entry);
const save = () => fs.writeFileSync(record, JSON.stringify(calls));
const scenario = process.env.INFERENCE_SCAFFOLDER_TEST_SCENARIO || 'ok';
if (scenario === 'slow') {
  fs.writeFileSync(process.env.INFERENCE_SCAFFOLDER_TEST_PIDFILE, String(process.pid));
  save();
  setTimeout(() => {}, 60000);
} else if (args[0] === 'new') {
  const answers = JSON.parse(fs.readFileSync(args[args.indexOf('--answers') + 1], 'utf8'));
  entry.answers = answers;
  save();
  if (scenario === 'refuse') {
    console.error('rendering...');
    console.error('error: max_input_tokens: must be lower than max_total_tokens (4096 >= 4096)');
    process.exit(2);
  }
  const out = path.join(args[args.indexOf('--output-dir') + 1], answers.service_name);
  fs.mkdirSync(path.join(out, 'environments', 'dev'), { recursive: true });
  fs.writeFileSync(path.join(out, 'catalog-info.yaml'), 'kind: Component\n');
  fs.writeFileSync(path.join(out, 'environments', 'dev', 'values.yaml'), 'x: 1\n');
  console.error('checked 1 environment');
  console.log(JSON.stringify({ output: out, service_name: answers.service_name,
    environments: ['dev'], files: ['catalog-info.yaml', 'environments/dev/values.yaml'],
    validation: { ok: true } }));
} else if (args[0] === 'schema-pr') {
  save();
  const differences = { summary: 'charts/ml-inference-load 0.0.3 on main\ndiffers (files: 3 removed)' };
  if (scenario === 'differs' && !args.includes('--update-existing')) {
    console.log(JSON.stringify({ status: 'differs', pull_request: null, warnings: [], differences }));
    process.exit(1);
  }
  if (scenario === 'differs') {
    console.log(JSON.stringify({ status: 'opened', warnings: [], differences,
      pull_request: 'https://github.com/acme/platform-schemas-types/pull/8' }));
  } else if (args.includes('--dry-run')) {
    console.log(JSON.stringify({ status: 'opened', pull_request: null,
      diff: '+export type WorkloadSchema = A | MlInferenceLoadSchema;', warnings: [] }));
  } else {
    console.error('pushed branch ml-inference-load');
    console.log(JSON.stringify({ status: 'opened', warnings: ['base chart is new'],
      pull_request: 'https://github.com/acme/platform-schemas-types/pull/7' }));
  }
}
`;

/** A folder with the fake CLI, its call record and scratch space. */
export interface FakeCli {
  dir: string;
  command: string;
  recordFile: string;
  /** Every call the fake CLI received, in order. */
  calls(): Array<{ argv: string[]; env: Record<string, string>; answers?: JsonObject }>;
  /** app-config for the module, pointing at the fake CLI. */
  config(extra?: JsonObject, scenario?: string): ConfigReader;
  /** A fresh folder (for workspaces and temporary directories). */
  folder(name: string): string;
}

/** Write the fake CLI into a new temporary folder. */
export function makeFakeCli(): FakeCli {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'inference-cli-'));
  const command = path.join(dir, 'bin', 'inference-scaffolder');
  fs.mkdirSync(path.dirname(command));
  fs.writeFileSync(command, `#!${process.execPath}\n${FAKE_CLI}`, { mode: 0o755 });
  const recordFile = path.join(dir, 'calls.json');
  let folders = 0;
  return {
    dir,
    command,
    recordFile,
    calls: () => (fs.existsSync(recordFile) ? JSON.parse(fs.readFileSync(recordFile, 'utf8')) : []),
    config: (extra = {}, scenario = 'ok') => {
      const section = (extra.inferenceScaffolder ?? {}) as JsonObject;
      return new ConfigReader({
        ...extra,
        inferenceScaffolder: {
          command,
          ...section,
          env: {
            INFERENCE_SCAFFOLDER_TEST_RECORD: recordFile,
            INFERENCE_SCAFFOLDER_TEST_SCENARIO: scenario,
            INFERENCE_SCAFFOLDER_TEST_PIDFILE: path.join(dir, 'cli.pid'),
            ...((section.env ?? {}) as JsonObject),
          },
        },
      });
    },
    folder: name => {
      folders += 1;
      const made = path.join(dir, `${name}-${folders}`);
      fs.mkdirSync(made);
      return made;
    },
  };
}

/** Log lines as `level: message`, for assertions on what the step log shows. */
export function captureLogger() {
  const lines: string[] = [];
  const log = (level: string) => (message: string) => {
    lines.push(`${level}: ${message}`);
  };
  const logger = {
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    debug: log('debug'),
    child: () => logger,
  };
  return { logger, lines };
}

/**
 * An action context from createMockActionContext, with a real temporary-directory maker,
 * the dry-run flag and (optionally) a checkpoint store standing in for the task's state.
 */
export function actionContext<TInput extends JsonObject>(
  cli: FakeCli,
  input: TInput,
  options: { dryRun?: boolean; checkpoints?: Map<string, unknown> } = {},
) {
  const { logger, lines } = captureLogger();
  const base = createMockActionContext<TInput>({
    input,
    workspacePath: cli.folder('workspace'),
    logger: logger as any,
  });
  const outputs: Record<string, unknown> = {};
  const checkpoints = options.checkpoints;
  const ctx = {
    ...base,
    isDryRun: options.dryRun ?? false,
    output: (name: string, value: unknown) => {
      outputs[name] = value;
    },
    createTemporaryDirectory: async () => cli.folder('tmp'),
    checkpoint: async ({ key, fn }: { key: string; fn: () => Promise<any> | any }) => {
      if (checkpoints?.has(key)) return checkpoints.get(key);
      const value = await fn();
      checkpoints?.set(key, value);
      return value;
    },
  };
  return { ctx: ctx as typeof base, outputs, lines };
}
