'use strict';
/**
 * Everything `schema-pr` asks of Node for one change, in one process: the TypeScript edits
 * (ts-edit.cjs), the interface module (schema-to-ts.cjs), the PlatformBaseCharts keys, and
 * the members of the interface as the repository has it and as generated (to report what an
 * existing, different version would lose). One process per run, because loading the
 * TypeScript compiler dominates the cost.
 *
 *   node platform-pr.cjs < request.json > response.json
 * request:  {"workload": {...}, "edits": [...], "interface": {...} | null,
 *            "baseChartKeys": {"path", "text"} | null,
 *            "members": {"name", "existing": {"path", "text"} | null} | null}
 * response: {"edits": [...], "interface": {...} | null, "baseChartKeys": [...] | null,
 *            "members": {"existing": listing | null, "proposed": listing | null} | null}
 * (a listing is ts-edit.cjs's ``interfaceMembers`` answer)
 * Refusals are answers ({"error": {"field", "rule"}}); only a crash exits non-zero.
 */

const { runEdits, baseChartKeys, interfaceMembers, readStdin } = require('./ts-edit.cjs');
const { generateInterface } = require('./schema-to-ts.cjs');
const { scope } = require('./tsconfig-scope.cjs');

async function handle(request) {
  const answer = runEdits(request);
  answer.interface = request.interface ? await generateInterface(request.interface) : null;
  const keysOf = request.baseChartKeys;
  answer.baseChartKeys = keysOf ? baseChartKeys(keysOf.path, keysOf.text) : null;
  answer.members = request.members ? memberListings(request.members, answer.interface) : null;
  answer.tsconfigScope = request.tsconfig ? scope(request.tsconfig) : null;
  return answer;
}

/** The existing module's members and the generated one's (when it was generated). */
function memberListings(request, generated) {
  const { name, existing } = request;
  const proposed = generated && typeof generated.text === 'string' ? generated.text : null;
  return {
    existing: existing ? interfaceMembers(existing.path, existing.text, name) : null,
    proposed: proposed === null ? null : interfaceMembers('(generated)', proposed, name),
  };
}

handle(JSON.parse(readStdin()))
  .then((answer) => process.stdout.write(JSON.stringify(answer)))
  .catch((error) => {
    process.stderr.write(`${error.stack || error}\n`);
    process.exitCode = 1;
  });
