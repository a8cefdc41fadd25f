#!/usr/bin/env node
'use strict';
/**
 * Print, as one JSON document on stdout, the JSON Schemas that Backstage's own npm packages
 * ship for the entities we write: the scaffolder Template kind
 * (@backstage/plugin-scaffolder-common) and the catalog kinds (@backstage/catalog-model).
 * The packages ship them as CommonJS modules, so they are require()d here and the Python
 * tests validate against what Backstage itself uses.
 *
 * Usage: node scripts/backstage-schemas.js [NODE_MODULES_DIR]
 * (default: backstage/node_modules next to this script, installed by install-backstage.sh)
 * Output: {"packages": {name: version}, "schemas": [schema, ...]} — each schema has its $id.
 */
const fs = require('node:fs');
const path = require('node:path');

const SOURCES = {
  '@backstage/plugin-scaffolder-common': ['dist/Template.v1beta3.schema.json.cjs.js'],
  '@backstage/catalog-model': ['dist/schema'],
};

/** Every `*.schema.json.cjs.js` file at or below `entry`. */
function schemaFiles(entry) {
  const stat = fs.statSync(entry);
  if (stat.isFile()) return [entry];
  return fs
    .readdirSync(entry, { withFileTypes: true })
    .flatMap(d => {
      const full = path.join(entry, d.name);
      if (d.isDirectory()) return schemaFiles(full);
      return d.name.endsWith('.schema.json.cjs.js') ? [full] : [];
    })
    .sort();
}

function main() {
  const nodeModules = path.resolve(
    process.argv[2] || path.join(__dirname, '..', 'backstage', 'node_modules'),
  );
  const packages = {};
  const schemas = [];
  for (const [name, entries] of Object.entries(SOURCES)) {
    const dir = path.join(nodeModules, ...name.split('/'));
    const manifest = path.join(dir, 'package.json');
    if (!fs.existsSync(manifest)) {
      process.stderr.write(`error: ${name} is not installed under ${nodeModules} (run scripts/install-backstage.sh)\n`);
      process.exit(2);
    }
    packages[name] = JSON.parse(fs.readFileSync(manifest, 'utf8')).version;
    for (const entry of entries) {
      for (const file of schemaFiles(path.join(dir, entry))) {
        const loaded = require(file);
        const schema = loaded.default ?? loaded;
        if (!schema || typeof schema.$id !== 'string') {
          process.stderr.write(`error: ${file} exports no schema with an $id\n`);
          process.exit(1);
        }
        schemas.push(schema);
      }
    }
  }
  process.stdout.write(`${JSON.stringify({ packages, schemas })}\n`);
}

main();
