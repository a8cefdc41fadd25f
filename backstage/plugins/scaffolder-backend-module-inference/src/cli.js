'use strict';
/**
 * Running the inference-scaffolder CLI as a subprocess: where to find it, which
 * environment it sees, how long it may take, and how its one-line errors are read.
 * Only Node built-ins here, so this file can be tested without a Backstage install.
 */
const path = require('node:path');
const { spawn } = require('node:child_process');

const DEFAULT_COMMAND = 'inference-scaffolder';
const DEFAULT_TIMEOUT_SECONDS = 300;
const KILL_GRACE_MS = 5000;
const MAX_CAPTURE_BYTES = 8 * 1024 * 1024;
/** app-config keys under `inferenceScaffolder` -> the CLI's variables for them. */
const PLATFORM_SETTINGS = {
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

/**
 * A bare name is looked up on PATH; a relative path is taken from the backend's working
 * directory (each run gets its own scratch folder as cwd, so it must be made absolute).
 */
function commandPath(command) {
  return command.includes('/') ? path.resolve(command) : command;
}

/**
 * The CLI settings from app-config (`inferenceScaffolder.*`), with defaults.
 * Accepts a Backstage Config or nothing.
 */
function readSettings(config) {
  const section = config ? config.getOptionalConfig('inferenceScaffolder') : undefined;
  const timeoutSeconds = section?.getOptionalNumber('timeoutSeconds') ?? DEFAULT_TIMEOUT_SECONDS;
  if (!(timeoutSeconds > 0)) {
    throw new Error('inferenceScaffolder.timeoutSeconds must be a positive number');
  }
  const envSection = section?.getOptionalConfig('env');
  const env = {};
  for (const key of envSection?.keys() ?? []) {
    env[key] = envSection.getString(key);
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
function childEnvironment(settings, extra = {}, parentEnv = process.env) {
  const env = {};
  for (const [key, value] of Object.entries(parentEnv)) {
    if (PASSED_VARIABLES.includes(key) || PASSED_PREFIXES.some(p => key.startsWith(p))) {
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
function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Run the CLI with `args`; resolves with `{code, stdout, stderr, timedOut}` and never
 * rejects for a non-zero exit (the caller decides). Rejects when the command cannot start.
 */
function runCli(settings, args, options = {}) {
  const { cwd, extraEnv, signal } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(settings.command, [...settings.args, ...args], {
      cwd,
      env: childEnvironment(settings, extraEnv),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const out = [];
    const err = [];
    let captured = 0;
    let timedOut = false;
    const collect = sink => chunk => {
      if (captured < MAX_CAPTURE_BYTES) {
        sink.push(chunk);
        captured += chunk.length;
      }
    };
    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    let graceTimer;
    const stop = () => {
      killGroup(child, 'SIGTERM');
      graceTimer = setTimeout(() => killGroup(child, 'SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, settings.timeoutSeconds * 1000);
    const onAbort = () => stop();
    signal?.addEventListener('abort', onAbort);
    const cleanUp = () => {
      clearTimeout(timer);
      clearTimeout(graceTimer);
      signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', error => {
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

/**
 * The message a failed run is reported with: the CLI's own `error: <field>: <rule>` line
 * (without the `error: ` prefix), else its last stderr line, else the exit code.
 */
function failureMessage(result, settings) {
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

module.exports = {
  readSettings, childEnvironment, runCli, failureMessage, DEFAULT_COMMAND, PLATFORM_SETTINGS,
};
