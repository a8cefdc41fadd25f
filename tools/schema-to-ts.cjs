'use strict';
/**
 * The TypeScript module of a workload type, generated from its chart's values schema with
 * json-schema-to-typescript, reusing the platform's shared types where the shapes agree.
 *
 * Why this way: the values schema is the one source; json-schema-to-typescript is the
 * ecosystem's converter and gives each ``$defs`` entry one named type. What it cannot know
 * is which of those shapes the repository already exports from ``../shared``; the TypeScript
 * checker decides that on the real shared module, so a ``$defs`` entry whose shape is exactly
 * a shared type's (same members, same optionality, same member types) is written as that
 * shared type and not declared again.
 *
 * Used as a module (see platform-pr.cjs) or on its own:
 *   node schema-to-ts.cjs < request.json > response.json
 * request:  {"schema", "name", "sharedEntry", "discriminator": {"property", "value"},
 *            "required": [top-level names], "header", "where"}
 * response: {"text", "sharedTypes": [...]} | {"error": {"field", "rule"}}
 */

const path = require('path');
const ts = require('typescript');
const { compile } = require('json-schema-to-typescript');

const CANDIDATE_FILE = '__inference_scaffolder_candidate__.ts';
const SHARED_MODULE = '../shared';

class SchemaRefusal extends Error {
  constructor(field, rule) {
    super(rule);
    this.field = field;
    this.rule = rule;
  }
}

// -------------------------------------------------------------------------------------------
// Preparing the schema
// -------------------------------------------------------------------------------------------

function clone(value) {
  return JSON.parse(JSON.stringify(value));
}

function pascalCase(key) {
  return key
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => word[0].toUpperCase() + word.slice(1))
    .join('');
}

function pointerToken(key) {
  return String(key).replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Calls ``visit(node, pointer)`` on every subschema object, depth first. */
function walk(node, pointer, visit) {
  if (Array.isArray(node)) {
    node.forEach((item, i) => walk(item, `${pointer}/${i}`, visit));
    return;
  }
  if (!node || typeof node !== 'object') return;
  visit(node, pointer);
  for (const [key, value] of Object.entries(node)) {
    if (key === 'const' || key === 'enum' || key === 'default' || key === 'examples') continue;
    walk(value, `${pointer}/${pointerToken(key)}`, visit);
  }
}

/** The node at a ``#/a/b`` pointer that ``walk`` reported. */
function atPointer(schema, pointer) {
  return pointer
    .split('/')
    .slice(1)
    .reduce((node, token) => node[token.replace(/~1/g, '/').replace(/~0/g, '~')], schema);
}

/**
 * Refuses what the converter would get silently wrong: references outside the document or
 * to nothing, and 2020-12 keywords it does not read.
 */
function checkSupported(schema, where) {
  walk(schema, '#', (node, pointer) => {
    for (const keyword of ['prefixItems', '$dynamicRef']) {
      if (keyword in node) {
        throw new SchemaRefusal(`${where}${pointer}`, `'${keyword}' has no supported TypeScript mapping`);
      }
    }
    if (typeof node.$ref !== 'string') return;
    if (!node.$ref.startsWith('#/$defs/')) {
      throw new SchemaRefusal(`${where}${pointer}`, `only local '#/$defs/...' references are supported, got ${node.$ref}`);
    }
    const key = node.$ref.slice('#/$defs/'.length);
    if (!schema.$defs || !(key in schema.$defs)) {
      throw new SchemaRefusal(`${where}${pointer}`, `$ref ${node.$ref} does not resolve`);
    }
  });
}

/** The discriminator must be a required const: every workload interface starts with it. */
function checkDiscriminator(schema, discriminator, where) {
  const { property, value } = discriminator;
  const node = (schema.properties || {})[property];
  if (!node || node.const !== value || !(schema.required || []).includes(property)) {
    throw new SchemaRefusal(
      `${where}#/properties/${property}`,
      `must be a required const "${value}" (the discriminator)`,
    );
  }
}

/**
 * The schema as the converter should read it: named as the interface, the discriminator
 * first, the render-required members required, and each ``$defs`` entry titled after its
 * key so its type name is predictable.
 */
function prepare(schema, request) {
  const prepared = clone(schema);
  const properties = prepared.properties || {};
  const missing = (request.required || []).filter((name) => !(name in properties));
  if (missing.length > 0) {
    throw new SchemaRefusal(request.where, `render-required properties not in the schema: ${missing.join(', ')}`);
  }
  prepared.title = request.name;
  delete prepared.$id;
  const { property } = request.discriminator;
  prepared.properties = { [property]: properties[property], ...properties };
  prepared.required = [...new Set([...(prepared.required || []), ...(request.required || [])])];
  for (const [key, def] of Object.entries(prepared.$defs || {})) {
    if (def && typeof def === 'object' && !def.title) def.title = pascalCase(key);
  }
  return prepared;
}

/**
 * Rewrites ``{"$ref", ...siblings}``: a reference to a ``$defs`` entry that a shared type
 * replaces becomes that type; one with sibling keywords (a description) is wrapped in
 * ``allOf`` so the converter keeps the entry's name instead of declaring a copy.
 */
function rewriteReferences(schema, sharedByKey) {
  walk(schema, '#', (node) => {
    if (typeof node.$ref !== 'string') return;
    const key = node.$ref.slice('#/$defs/'.length);
    if (sharedByKey.has(key)) {
      delete node.$ref;
      node.tsType = sharedByKey.get(key);
    } else if (Object.keys(node).length > 1) {
      const ref = node.$ref;
      delete node.$ref;
      node.allOf = [{ $ref: ref }];
    }
  });
  for (const key of sharedByKey.keys()) delete schema.$defs[key];
  return schema;
}

const CONVERTER_OPTIONS = {
  bannerComment: '',
  // Array lengths are validation: `string[]`, not a union of tuples.
  maxItems: -1,
  format: true,
  declareExternallyReferenced: true,
  $refOptions: { resolve: { external: false } },
};

// -------------------------------------------------------------------------------------------
// Comparing shapes with the checker
// -------------------------------------------------------------------------------------------

/** A program holding the repository's shared module and the candidate declarations. */
function candidateProgram(sharedEntry, candidateText) {
  const sharedDir = path.dirname(path.resolve(sharedEntry));
  const candidatePath = path.join(path.dirname(sharedDir), 'workloadChartValues', CANDIDATE_FILE);
  const options = {
    strict: true,
    target: ts.ScriptTarget.ES2020,
    module: ts.ModuleKind.CommonJS,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    // ES5's lib declares every type a JSON shape can have (arrays, records, literals);
    // a shared type built on later ones (Map, Promise) cannot be a schema's shape anyway
    // and resolves to `any`, which never matches. Half the parse time of ES2020's.
    lib: ['lib.es5.d.ts'],
  };
  const host = ts.createCompilerHost(options);
  const source = `import * as __shared from "${SHARED_MODULE}";\n${candidateText}`;
  const original = { getSourceFile: host.getSourceFile, fileExists: host.fileExists, readFile: host.readFile };
  host.getSourceFile = (file, language, ...rest) =>
    path.resolve(file) === candidatePath
      ? ts.createSourceFile(file, source, language, true)
      : original.getSourceFile.call(host, file, language, ...rest);
  host.fileExists = (file) => path.resolve(file) === candidatePath || original.fileExists.call(host, file);
  host.readFile = (file) => (path.resolve(file) === candidatePath ? source : original.readFile.call(host, file));
  const program = ts.createProgram([candidatePath], options, host);
  return { program, checker: program.getTypeChecker(), file: program.getSourceFile(candidatePath) };
}

/** Exported, non-generic interfaces and type aliases of ``../shared``, in export order. */
function sharedTypes(checker, file) {
  const specifier = file.statements[0].moduleSpecifier;
  const moduleSymbol = checker.getSymbolAtLocation(specifier);
  if (!moduleSymbol) return [];
  const found = [];
  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    if (!(symbol.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias))) continue;
    const declaration = (symbol.declarations || [])[0];
    if (!declaration || (declaration.typeParameters && declaration.typeParameters.length)) continue;
    found.push({ name: exported.name, type: checker.getDeclaredTypeOfSymbol(symbol) });
  }
  return found;
}

/** The declared type of each interface or alias the converter emitted, by name. */
function candidateTypes(checker, file) {
  const types = new Map();
  for (const statement of file.statements) {
    if (!ts.isInterfaceDeclaration(statement) && !ts.isTypeAliasDeclaration(statement)) continue;
    const symbol = checker.getSymbolAtLocation(statement.name);
    if (symbol) types.set(statement.name.text, checker.getDeclaredTypeOfSymbol(symbol));
  }
  return types;
}

function isPlainObject(checker, type) {
  return Boolean(type.flags & ts.TypeFlags.Object) && !checker.isArrayType(type);
}

/** Shapes worth naming after a shared type: objects and unions of literals, not ``string``. */
function isReusable(checker, type) {
  if (isPlainObject(checker, type)) return true;
  return Boolean(type.isUnion()) && type.types.every((t) => t.isLiteral() || (t.flags & ts.TypeFlags.BooleanLiteral));
}

/**
 * Whether two types have the same shape: the same members with the same optionality and
 * member types of the same shape (index signatures and array elements alike). Mutual
 * assignability alone would equate ``{a}`` and ``{a, b?}``.
 */
function sameShape(checker, a, b, depth = 0) {
  // An unresolved type is `any`, which is assignable both ways: never evidence of a match.
  if ((a.flags | b.flags) & ts.TypeFlags.Any) return false;
  if (a === b) return true;
  if (depth > 12) return false;
  if (checker.isArrayType(a) || checker.isArrayType(b)) {
    if (!checker.isArrayType(a) || !checker.isArrayType(b)) return false;
    return sameShape(checker, checker.getTypeArguments(a)[0], checker.getTypeArguments(b)[0], depth + 1);
  }
  if (isPlainObject(checker, a) && isPlainObject(checker, b)) return sameObjectShape(checker, a, b, depth);
  return checker.isTypeAssignableTo(a, b) && checker.isTypeAssignableTo(b, a);
}

function sameObjectShape(checker, a, b, depth) {
  const propsA = checker.getPropertiesOfType(a);
  const propsB = new Map(checker.getPropertiesOfType(b).map((p) => [p.name, p]));
  if (propsA.length !== propsB.size) return false;
  for (const prop of propsA) {
    const other = propsB.get(prop.name);
    if (!other) return false;
    if (Boolean(prop.flags & ts.SymbolFlags.Optional) !== Boolean(other.flags & ts.SymbolFlags.Optional)) return false;
    if (!sameShape(checker, checker.getTypeOfSymbol(prop), checker.getTypeOfSymbol(other), depth + 1)) return false;
  }
  const indexA = checker.getIndexInfosOfType(a);
  const indexB = checker.getIndexInfosOfType(b);
  if (indexA.length !== indexB.length) return false;
  return indexA.every((info, i) => sameShape(checker, info.type, indexB[i].type, depth + 1));
}

/**
 * Shapes that may turn out to be shared types: every ``$defs`` entry (by its title) and every
 * inline object with properties or enum of strings, given a temporary title so the first
 * conversion declares it. Returns the titled copy and title -> where it came from.
 */
function titleCandidates(prepared) {
  const titled = clone(prepared);
  const candidates = new Map();
  for (const [key, def] of Object.entries(titled.$defs || {})) {
    candidates.set(def.title, { defKey: key });
  }
  let counter = 0;
  walk(titled, '#', (node, pointer) => {
    if (pointer === '#' || pointer.startsWith('#/$defs/') && pointer.split('/').length === 3) return;
    if (node.$ref || node.tsType || node.title) return;
    const isObject = node.type === 'object' && node.properties && Object.keys(node.properties).length;
    const isEnum = Array.isArray(node.enum) && node.enum.length > 1 && node.enum.every((v) => typeof v === 'string');
    if (!isObject && !isEnum) return;
    counter += 1;
    node.title = `InferenceScaffolderShape${counter}`;
    candidates.set(node.title, { pointer });
  });
  return { titled, candidates };
}

/**
 * Which candidate shapes a shared type has: ``{defs: key -> name, inline: pointer -> name}``.
 * The first shared type (in export order) of the same shape wins.
 */
function matchSharedTypes(prepared, sharedEntry) {
  const { titled, candidates } = titleCandidates(prepared);
  // Only the checker reads this pass: formatting it would be wasted time.
  const options = { ...CONVERTER_OPTIONS, format: false };
  return compile(rewriteReferences(titled, new Map()), prepared.title, options).then((text) => {
    const { checker, file } = candidateProgram(sharedEntry, text);
    const shared = sharedTypes(checker, file).filter((candidate) => isReusable(checker, candidate.type));
    const generated = candidateTypes(checker, file);
    const matches = { defs: new Map(), inline: new Map() };
    for (const [title, origin] of candidates) {
      const type = generated.get(title);
      if (!type || !isReusable(checker, type)) continue;
      const match = shared.find((candidate) => sameShape(checker, type, candidate.type));
      if (!match) continue;
      if (origin.defKey) matches.defs.set(origin.defKey, match.name);
      else matches.inline.set(origin.pointer, match.name);
    }
    return matches;
  });
}

/** Writes each inline shape a shared type has as that type (keeping its description). */
function useSharedInline(schema, inline) {
  for (const [pointer, name] of inline) {
    const node = atPointer(schema, pointer);
    const description = node.description;
    for (const key of Object.keys(node)) delete node[key];
    node.tsType = name;
    if (description) node.description = description;
  }
  return schema;
}

// -------------------------------------------------------------------------------------------
// The module
// -------------------------------------------------------------------------------------------

/** One line while it fits in 80 columns, else one name per line (the repository's layout). */
function importLine(names) {
  const oneLine = `import { ${names.join(', ')} } from "${SHARED_MODULE}";`;
  if (oneLine.length <= 80) return oneLine;
  return `import {\n${names.map((n) => `  ${n},`).join('\n')}\n} from "${SHARED_MODULE}";`;
}

function renderModule(header, sharedNames, body) {
  const lines = [];
  for (const line of (header || '').split('\n').filter((l, i, all) => l || i < all.length - 1)) {
    lines.push(line ? `// ${line}` : '//');
  }
  if (sharedNames.length > 0) lines.push(importLine(sharedNames));
  if (lines.length > 0) lines.push('');
  return `${lines.join('\n')}\n${body.trim()}\n`.replace(/^\n/, '');
}

/** Declared names in the converter's output, to catch a clash with an imported shared name. */
function declaredNames(text) {
  return [...text.matchAll(/^export (?:interface|type) ([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]);
}

async function generate(request) {
  const where = request.where || 'values.schema.json';
  const schema = request.schema;
  if (!schema || typeof schema !== 'object' || schema.type !== 'object') {
    throw new SchemaRefusal(where, 'the root schema must describe an object');
  }
  checkSupported(schema, where);
  checkDiscriminator(schema, request.discriminator, where);
  const prepared = prepare(schema, { ...request, where });
  const none = { defs: new Map(), inline: new Map() };
  const matches = request.sharedEntry ? await matchSharedTypes(prepared, request.sharedEntry) : none;
  const final = rewriteReferences(useSharedInline(prepared, matches.inline), matches.defs);
  const body = await compile(final, request.name, CONVERTER_OPTIONS);
  const used = [...matches.defs.values(), ...matches.inline.values()];
  const sharedNames = [...new Set(used)].filter((name) => new RegExp(`\\b${name}\\b`).test(body)).sort();
  const clash = declaredNames(body).find((name) => sharedNames.includes(name));
  if (clash) {
    throw new SchemaRefusal(where, `the schema declares ${clash}, a name the shared module exports too`);
  }
  return { text: renderModule(request.header, sharedNames, body), sharedTypes: sharedNames };
}

/** ``generate`` with refusals as ``{error: {field, rule}}`` (the CLI and batch answer). */
async function generateInterface(request) {
  try {
    return await generate(request);
  } catch (error) {
    if (error instanceof SchemaRefusal) return { error: { field: error.field, rule: error.rule } };
    throw error;
  }
}

if (require.main === module) {
  const request = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  generateInterface(request).then((answer) => process.stdout.write(JSON.stringify(answer)));
}

module.exports = { generateInterface };
