'use strict';
/**
 * What a repository's tsconfig.json makes the compiler read and write, resolved by the
 * TypeScript compiler itself (extends chains, include/files globs, path options), so the
 * caller can refuse a configuration that reaches outside the repository or writes files
 * before the compiler ever runs on it.
 *
 * Used as a module (platform-pr.cjs answers it in the same process as the edits) or alone:
 *   node tsconfig-scope.cjs < {"config": "<abs path of tsconfig.json>"}
 * response: {"extended": [abs paths], "fileNames": [abs paths], "references": [abs paths],
 *            "pathOptions": {"<option>": [abs paths]}, "writing": ["<option>", ...],
 *            "errors": ["<message>", ...]}
 */

const path = require('path');
const ts = require('typescript');

// Options that make tsc write files even with --noEmit (build info, traces).
const WRITING = ['incremental', 'composite', 'tsBuildInfoFile', 'generateTrace', 'generateCpuProfile'];
// Options whose values are folders or files the compiler reads.
const PATH_OPTIONS = ['baseUrl', 'rootDir', 'rootDirs', 'typeRoots', 'outDir', 'declarationDir',
  'outFile', 'out', 'mapRoot', 'sourceRoot', 'tsBuildInfoFile'];

function message(diagnostic) {
  return ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
}

function scope(configPath) {
  const errors = [];
  const host = {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => errors.push(message(d)),
  };
  const parsed = ts.getParsedCommandLineOfConfigFile(configPath, {}, host);
  if (!parsed) return { extended: [], fileNames: [], references: [], pathOptions: {}, writing: [], errors };
  const options = parsed.options;
  const pathOptions = {};
  for (const name of PATH_OPTIONS) {
    const value = options[name];
    if (value !== undefined) pathOptions[name] = [].concat(value).map((p) => path.resolve(p));
  }
  if (options.paths) {
    const base = options.baseUrl || options.pathsBasePath || path.dirname(configPath);
    pathOptions.paths = Object.values(options.paths).flat().map((p) => path.resolve(base, String(p)));
  }
  const sourceFile = options.configFile;
  return {
    extended: (sourceFile && sourceFile.extendedSourceFiles) || [],
    fileNames: parsed.fileNames,
    references: (parsed.projectReferences || []).map((r) => path.resolve(r.path)),
    pathOptions,
    writing: WRITING.filter((name) => options[name] !== undefined && options[name] !== false),
    errors: errors.concat((parsed.errors || []).map(message)),
  };
}

module.exports = { scope };

if (require.main === module) {
  let input = '';
  process.stdin.on('data', (chunk) => { input += chunk; });
  process.stdin.on('end', () => {
    const request = JSON.parse(input);
    process.stdout.write(JSON.stringify(scope(request.config)));
  });
}
