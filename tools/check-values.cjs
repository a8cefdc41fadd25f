'use strict';
/**
 * The values check of a platform-schemas-types repository's `npm test`, in our own words:
 * every chart folder under charts/ whose values.yaml and values.schema.json both exist has its
 * values validated against its schema with ajv's draft 2020-12 validator (allErrors, strict
 * off, as the repository configures it). One PASS/FAIL line per chart; exit 1 on any failure.
 *
 * Why our own: `schema-pr` must know, before it pushes, that the repository's own test will
 * pass on the branch; running this (ajv and js-yaml pinned in tools/package.json) over the
 * edited clone answers that without installing the repository's dependencies.
 *
 *   node check-values.cjs [REPO_ROOT] [--json]
 * --json prints {"charts": [{"chart", "status": "pass"|"fail"|"skip", "errors": [...]}]}.
 */

const fs = require('fs');
const path = require('path');
const yaml = require('js-yaml');
const Ajv2020 = require('ajv/dist/2020').default;

// A values file is anyone's push: a few hundred bytes of nested YAML aliases stand for a
// billion nodes, which the validator would walk until Node runs out of memory. The parser
// bounds the aliases and the nesting; expandedSize bounds what the aliases stand for (the
// same bound as the Python side, inference_scaffolder.yamlio).
const YAML_OPTIONS = { maxAliases: 10000, maxDepth: 100, maxTotalMergeKeys: 10000 };
const MAX_EXPANDED_NODES = 1000000;

/** Nodes of `value` with every shared (aliased) node counted at each use, capped. */
function expandedSize(value, limit, sizes = new Map()) {
  if (value === null || typeof value !== 'object') return 1;
  if (sizes.has(value)) return sizes.get(value);
  let size = 1;
  for (const item of Array.isArray(value) ? value : Object.entries(value).flat()) {
    size += expandedSize(item, limit, sizes);
    if (size > limit) break;
  }
  size = Math.min(size, limit + 1);
  sizes.set(value, size);
  return size;
}

/** A values file's content, refused beyond the bounds above. */
function loadValues(text) {
  const values = yaml.load(text, YAML_OPTIONS) ?? {};
  if (expandedSize(values, MAX_EXPANDED_NODES) > MAX_EXPANDED_NODES) {
    throw new Error(`its YAML aliases expand to more than ${MAX_EXPANDED_NODES} nodes`);
  }
  return values;
}

/** Validation errors of one chart as "instancePath: message" strings, or null to skip. */
function checkChart(chartDir) {
  const schemaFile = path.join(chartDir, 'values.schema.json');
  const valuesFile = path.join(chartDir, 'values.yaml');
  if (!fs.existsSync(schemaFile) || !fs.existsSync(valuesFile)) return null;
  // verbose: errors carry the offending value, which the report shows.
  const ajv = new Ajv2020({ allErrors: true, strict: false, verbose: true });
  let validate;
  try {
    validate = ajv.compile(JSON.parse(fs.readFileSync(schemaFile, 'utf8')));
  } catch (error) {
    return [`values.schema.json: ${error.message}`];
  }
  let values;
  try {
    values = loadValues(fs.readFileSync(valuesFile, 'utf8'));
  } catch (error) {
    return [`values.yaml: ${error.message.split('\n')[0]}`];
  }
  if (validate(values)) return [];
  return validate.errors.map(describe);
}

/** "path: message", with the value when it is a scalar (what to fix, at a glance). */
function describe(error) {
  const where = error.instancePath || '/';
  const scalar = error.data === null || typeof error.data !== 'object';
  const got = scalar && error.data !== undefined ? ` (got ${JSON.stringify(error.data)})` : '';
  return `${where}: ${error.message}${got}`;
}

/** One result per folder under charts/, in name order. */
function checkRepository(root) {
  const chartsDir = path.join(root, 'charts');
  if (!fs.existsSync(chartsDir)) return [];
  return fs
    .readdirSync(chartsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((chart) => {
      const errors = checkChart(path.join(chartsDir, chart));
      if (errors === null) return { chart, status: 'skip', errors: [] };
      return { chart, status: errors.length ? 'fail' : 'pass', errors };
    });
}

function report(results) {
  for (const result of results) {
    if (result.status === 'skip') {
      console.log(`SKIP ${result.chart} (no values.yaml or values.schema.json)`);
    } else if (result.status === 'pass') {
      console.log(`PASS ${result.chart}`);
    } else {
      console.log(`FAIL ${result.chart}`);
      for (const error of result.errors) console.log(`  ${error}`);
    }
  }
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const root = args.find((a) => !a.startsWith('--')) || process.cwd();
  const results = checkRepository(root);
  if (args.includes('--json')) process.stdout.write(JSON.stringify({ charts: results }));
  else report(results);
  process.exitCode = results.some((r) => r.status === 'fail') ? 1 : 0;
}

module.exports = { checkRepository, checkChart, loadValues };
