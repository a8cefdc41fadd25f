'use strict';
/**
 * Everything `schema-pr` asks of Node for one change, in one process: the TypeScript edits
 * (ts-edit.cjs), the interface module (schema-to-ts.cjs) and the PlatformBaseCharts keys.
 * One process per run, because loading the TypeScript compiler dominates the cost.
 *
 *   node platform-pr.cjs < request.json > response.json
 * request:  {"workload": {...}, "edits": [...], "interface": {...} | null,
 *            "baseChartKeys": {"path", "text"} | null}
 * response: {"edits": [...], "interface": {...} | null, "baseChartKeys": [...] | null}
 * Refusals are answers ({"error": {"field", "rule"}}); only a crash exits non-zero.
 */

const { runEdits, baseChartKeys, readStdin } = require('./ts-edit.cjs');
const { generateInterface } = require('./schema-to-ts.cjs');

async function handle(request) {
  const answer = runEdits(request);
  answer.interface = request.interface ? await generateInterface(request.interface) : null;
  const keysOf = request.baseChartKeys;
  answer.baseChartKeys = keysOf ? baseChartKeys(keysOf.path, keysOf.text) : null;
  return answer;
}

handle(JSON.parse(readStdin()))
  .then((answer) => process.stdout.write(JSON.stringify(answer)))
  .catch((error) => {
    process.stderr.write(`${error.stack || error}\n`);
    process.exitCode = 1;
  });
