/**
 * Running the inference-scaffolder CLI as a subprocess: where to find it, which
 * environment it sees, how long it may take, and how its one-line errors are read.
 */
import path from 'node:path';
import { spawn } from 'node:child_process';
import type { Config } from '@backstage/config';

export const DEFAULT_COMMAND = 'inference-scaffolder';
const DEFAULT_TIMEOUT_SECONDS = 300;
const KILL_GRACE_MS = 5000;
const MAX_CAPTURE_BYTES = 8 * 1024 * 1024;

/** app-config keys under `inferenceScaffolder` -> the CLI's variables for them. */
export const PLATFORM_SETTINGS: Record<string, string> = {
  chartRepository: 'INFERENCE_SCAFFOLDER_CHART_REPOSITORY',
  scaffolderSource: 'INFERENCE_SCAFFOLDER_SOURCE',
};

/**
 * Variables passed through from the backend's environment. The backend usually holds
 * secrets of its own (database passwords, integration tokens); the CLI gets only what it
 * needs to run, plus what `inferenceScaffolder.env` and the action add explicitly.
 */
const PASSED_VARIABLES = [
  'PATH', 'HOME', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR', 'VIRTUAL_ENV',
  'SSL_CERT_FILE', 'SSL_CERT_DIR', 'REQUESTS_CA_BUNDLE',
];
const PASSED_PREFIXES = ['INFERENCE_SCAFFOLDER_', 'HELM_', 'XDG_', 'PYTHON'];

/** How the actions run the CLI, read once from app-config (`inferenceScaffolder.*`). */
export interface CliSettings {
  command: string;
  args: string[];
  timeoutSeconds: number;
  env: Record<string, string>;
  schemaPr: { repoUrl?: string; gitUrl?: string; baseBranch?: string };
}

/** What one CLI run left behind; a non-zero exit is data, not an exception. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface RunOptions {
  cwd?: string;
  extraEnv?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * A bare name is looked up on PATH; a relative path is taken from the backend's working
 * directory (each run gets its own scratch folder as cwd, so it must be made absolute).
 */
function commandPath(command: string): string {
  return command.includes('/') ? path.resolve(command) : command;
}

/** The CLI settings from app-config, with defaults; accepts a Backstage Config or nothing. */
export function readSettings(config?: Config): CliSettings {
  const section = config?.getOptionalConfig('inferenceScaffolder');
  const timeoutSeconds = section?.getOptionalNumber('timeoutSeconds') ?? DEFAULT_TIMEOUT_SECONDS;
  if (!(timeoutSeconds > 0)) {
    throw new Error('inferenceScaffolder.timeoutSeconds must be a positive number');
  }
  const envSection = section?.getOptionalConfig('env');
  const env: Record<string, string> = {};
  for (const key of envSection?.keys() ?? []) {
    env[key] = envSection!.getString(key);
  }
  // The platform's settings: where services pull the base chart from, and where their CI
  // installs the scaffolder from. The CLI reads them as its platform defaults.
  for (const [key, variable] of Object.entries(PLATFORM_SETTINGS)) {
    const value = section?.getOptionalString(key);
    if (value) {
      env[variable] = value;
    }
  }
  return {
    command: commandPath(section?.getOptionalString('command') ?? DEFAULT_COMMAND),
    args: section?.getOptionalStringArray('args') ?? [],
    timeoutSeconds,
    env,
    schemaPr: {
      repoUrl: section?.getOptionalString('schemaPr.repoUrl'),
      gitUrl: section?.getOptionalString('schemaPr.gitUrl'),
      baseBranch: section?.getOptionalString('schemaPr.baseBranch'),
    },
  };
}

/** The child's environment: the pass-through list, the configured extras, then `extra`. */
export function childEnvironment(
  settings: CliSettings,
  extra: Record<string, string> = {},
  parentEnv: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(parentEnv)) {
    const passed =
      PASSED_VARIABLES.includes(key) || PASSED_PREFIXES.some(p => key.startsWith(p));
    if (passed && value !== undefined) {
      env[key] = value;
    }
  }
  // A CLI installed in a virtualenv finds the tools installed next to it (helm, git hooks).
  if (path.isAbsolute(settings.command)) {
    env.PATH = [path.dirname(settings.command), env.PATH].filter(Boolean).join(path.delimiter);
  }
  return { ...env, ...settings.env, ...extra };
}

/** Kill the whole process group: the CLI runs helm and git as children of its own. */
function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Run the CLI with `args`; resolves for any exit code (the caller decides) and rejects
 * only when the command cannot start.
 */
export function runCli(
  settings: CliSettings,
  args: string[],
  options: RunOptions = {},
): Promise<CliResult> {
  const { cwd, extraEnv, signal } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(settings.command, [...settings.args, ...args], {
      cwd,
      env: childEnvironment(settings, extraEnv),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let captured = 0;
    let timedOut = false;
    const collect = (sink: Buffer[]) => (chunk: Buffer) => {
      if (captured < MAX_CAPTURE_BYTES) {
        sink.push(chunk);
        captured += chunk.length;
      }
    };
    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    let graceTimer: NodeJS.Timeout | undefined;
    const stop = () => {
      killGroup(child.pid, 'SIGTERM');
      graceTimer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, settings.timeoutSeconds * 1000);
    signal?.addEventListener('abort', stop);
    const cleanUp = () => {
      clearTimeout(timer);
      clearTimeout(graceTimer);
      signal?.removeEventListener('abort', stop);
    };
    child.on('error', (error: NodeJS.ErrnoException) => {
      cleanUp();
      if (error.code === 'ENOENT') {
        reject(
          new Error(
            `inference-scaffolder CLI not found at '${settings.command}' ` +
              '(install the Python package on the backend host or set inferenceScaffolder.command)',
          ),
        );
      } else {
        reject(error);
      }
    });
    child.on('close', code => {
      cleanUp();
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
      });
    });
  });
}

/** The CLI's stderr lines, for the step log. */
export function stderrLines(result: CliResult): string[] {
  return result.stderr.split(/\r?\n/).filter(Boolean);
}

/**
 * The message a failed run is reported with: the CLI's own `error: <field>: <rule>` line
 * (without the `error: ` prefix), else its last stderr line, else the exit code.
 */
export function failureMessage(result: CliResult, settings: CliSettings): string {
  if (result.timedOut) {
    return `inference-scaffolder timed out after ${settings.timeoutSeconds}s (inferenceScaffolder.timeoutSeconds)`;
  }
  const lines = result.stderr.split(/\r?\n/).map(line => line.trim()).filter(Boolean);
  const errorLines = lines.filter(line => line.startsWith('error: '));
  if (errorLines.length) {
    return errorLines[errorLines.length - 1].slice('error: '.length);
  }
  if (lines.length) {
    return lines[lines.length - 1];
  }
  return `inference-scaffolder exited with code ${result.code}`;
}
