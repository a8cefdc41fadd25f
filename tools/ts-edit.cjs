'use strict';
/**
 * Edits to the TypeScript files of a platform-schemas-types repository that add one
 * workload type, located with the TypeScript parser rather than with patterns.
 *
 * Why the parser: the files are hand-formatted (mixed quotes, optional semicolons, comments
 * anywhere, lines of any length). The parser finds the declarations by syntax in linear time,
 * and every edit inserts text at a span it reports, so the rest of the file stays byte for
 * byte as it was. A file whose declarations do not have the expected shape is refused with a
 * one-line reason; guessing in a shared types package breaks every consumer.
 *
 * Every edit is idempotent: applied to its own output it changes nothing.
 *
 * Used as a module (see platform-pr.cjs) or on its own:
 *   node ts-edit.cjs < request.json > response.json
 * request:  {"workload": {"interface", "module", "key"}, "edits": [{"kind", "path", "text"}]}
 *           kind: "workloadSchema" | "index" | "platform"
 * response: {"edits": [{"path", "text", "keys"?} | {"path", "error": {"field", "rule"}}]}
 *
 * It also lists an interface's members (``interfaceMembers``), so that schema-pr can tell
 * what an existing, hand-written version of a workload type's interface has that the
 * generated one does not.
 */

const ts = require('typescript');

const UNION_NAME = 'WorkloadSchema';
const BASE_CHARTS_NAME = 'PlatformBaseCharts';

/** A refusal: the file is not in the shape an edit can make safely. */
class Refusal extends Error {
  constructor(path, rule) {
    super(rule);
    this.field = path;
    this.rule = rule;
  }
}

// -------------------------------------------------------------------------------------------
// Reading a file
// -------------------------------------------------------------------------------------------

/** The parsed file with the helpers every edit needs; refuses text that does not parse. */
function parse(path, text) {
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const errors = sf.parseDiagnostics || [];
  if (errors.length > 0) {
    const first = errors[0];
    const line = sf.getLineAndCharacterOfPosition(first.start).line + 1;
    const message = ts.flattenDiagnosticMessageText(first.messageText, ' ');
    throw new Refusal(path, `does not parse as TypeScript (line ${line}: ${message})`);
  }
  return { path, text, sf, eol: lineEnding(text) };
}

/** The file's line ending: CRLF when its first line ends with one. */
function lineEnding(text) {
  const first = text.indexOf('\n');
  return first > 0 && text[first - 1] === '\r' ? '\r\n' : '\n';
}

function lineOf(file, pos) {
  return file.sf.getLineAndCharacterOfPosition(pos).line;
}

/** Offset just before the line break that ends the line holding ``pos`` (or text end). */
function endOfLine(file, pos) {
  const newline = file.text.indexOf('\n', pos);
  if (newline < 0) return file.text.length;
  return file.text[newline - 1] === '\r' ? newline - 1 : newline;
}

function startOf(file, node) {
  return node.getStart(file.sf);
}

function sourceOf(file, node) {
  return file.text.slice(startOf(file, node), node.end);
}

function isExported(node) {
  return (ts.getModifiers(node) || []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
}

/** Counts ``values`` and returns the most frequent; a tie goes to ``tieBreaker``. */
function majority(values, tieBreaker) {
  const counts = new Map();
  for (const value of values) counts.set(value, (counts.get(value) || 0) + 1);
  if (counts.size === 0) return tieBreaker;
  const best = Math.max(...counts.values());
  const winners = [...counts].filter(([, count]) => count === best).map(([value]) => value);
  return winners.includes(tieBreaker) ? tieBreaker : winners.sort()[0];
}

/**
 * Applies non-overlapping replacements ``[{from, to, text}]`` (an insertion has
 * ``from === to``) in one pass from the end, so earlier offsets stay valid. Insertions at
 * the same offset keep their listed order in the result.
 */
function applyEdits(text, edits) {
  const indexed = edits.map((edit, index) => ({ ...edit, index }));
  const sorted = indexed.sort((a, b) => b.from - a.from || b.index - a.index);
  let out = text;
  for (const edit of sorted) out = out.slice(0, edit.from) + edit.text + out.slice(edit.to);
  return out;
}

function insertion(at, text) {
  return { from: at, to: at, text };
}

// -------------------------------------------------------------------------------------------
// Imports
// -------------------------------------------------------------------------------------------

/** ``./basicContainerLoad`` for ``BasicContainerLoadSchema`` (the repository's naming). */
function moduleOfSchema(name) {
  if (!name.endsWith('Schema') || name === UNION_NAME || name.length <= 'Schema'.length) {
    return null;
  }
  const stem = name.slice(0, -'Schema'.length);
  return `./${stem[0].toLowerCase()}${stem.slice(1)}`;
}

/** ``import { A, B } from 'x'`` declarations (no default import), with their names. */
function namedImports(file) {
  const found = [];
  for (const statement of file.sf.statements) {
    if (!ts.isImportDeclaration(statement)) continue;
    const clause = statement.importClause;
    if (!clause || clause.name || !clause.namedBindings) continue;
    if (!ts.isNamedImports(clause.namedBindings)) continue;
    if (!ts.isStringLiteral(statement.moduleSpecifier)) continue;
    found.push({
      node: statement,
      bindings: clause.namedBindings,
      names: clause.namedBindings.elements.map((e) => e.name.text),
      path: statement.moduleSpecifier.text,
      quote: file.text[startOf(file, statement.moduleSpecifier)],
      semicolon: file.text[statement.end - 1] === ';',
    });
  }
  return found;
}

/** Import declarations of workload schema modules, recognised by the naming convention. */
function schemaImports(file) {
  return namedImports(file).filter((imp) => imp.names.some((n) => moduleOfSchema(n) === imp.path));
}

/**
 * Adds ``import { XSchema } from "./x"`` after the last schema import. The new line is the
 * last schema import with its names and path swapped, so ``import type``, brace spacing and
 * indentation follow it; quotes and semicolons follow the majority of the schema imports.
 * Returns the insertion, or null when the import is already there.
 */
function importInsertion(file, workload) {
  const imports = schemaImports(file);
  if (imports.length === 0) {
    throw new Refusal(file.path, "no `import { <Name>Schema } from './<name>'` lines to extend");
  }
  for (const imp of namedImports(file)) {
    if (!imp.names.includes(workload.interface)) continue;
    if (imp.path !== workload.module) {
      throw new Refusal(
        file.path,
        `imports ${workload.interface} from '${imp.path}', expected '${workload.module}'`,
      );
    }
    return null;
  }
  const last = imports[imports.length - 1];
  const quote = majority(imports.map((i) => i.quote), last.quote);
  const semicolon = majority(imports.map((i) => String(i.semicolon)), String(last.semicolon));
  const line = cloneImport(file, last, workload, quote, semicolon === 'true');
  return insertion(endOfLine(file, last.node.end), file.eol + line);
}

function cloneImport(file, imp, workload, quote, semicolon) {
  const start = startOf(file, imp.node);
  const elements = imp.bindings.elements;
  const namesFrom = startOf(file, elements[0]) - start;
  const namesTo = elements[elements.length - 1].end - start;
  const specifier = imp.node.moduleSpecifier;
  const specFrom = startOf(file, specifier) - start;
  const specTo = specifier.end - start;
  let line = sourceOf(file, imp.node);
  line = line.slice(0, specFrom) + quote + workload.module + quote + line.slice(specTo);
  line = line.slice(0, namesFrom) + workload.interface + line.slice(namesTo);
  line = line.replace(/\s*;$/, '');
  return semicolon ? `${line};` : line;
}

// -------------------------------------------------------------------------------------------
// Unions of type names, on one line or one member per line
// -------------------------------------------------------------------------------------------

/** ``export type X = ...`` declarations at the top level. */
function exportedAliases(file) {
  return file.sf.statements.filter((s) => ts.isTypeAliasDeclaration(s) && isExported(s));
}

/** The member type nodes of an alias: a union's members, or the one type it names. */
function unionMembers(alias) {
  return ts.isUnionTypeNode(alias.type) ? [...alias.type.types] : [alias.type];
}

/** The name of a member that is a plain type name (``A``, not ``A<B>`` or ``A.B``). */
function plainName(member) {
  if (!ts.isTypeReferenceNode(member) || member.typeArguments) return null;
  return ts.isIdentifier(member.typeName) ? member.typeName.text : null;
}

/** Refuses an alias that is not a union of plain type names (``A | B | C``). */
function requireNameUnion(file, alias) {
  if (unionMembers(alias).every((m) => plainName(m) !== null)) return;
  const first = lineOf(file, startOf(file, alias));
  const shown = file.text.slice(startOf(file, alias), endOfLine(file, startOf(file, alias)));
  throw new Refusal(
    file.path,
    `line ${first + 1} must be a union of type names ` +
      `(\`export type X = A | B | C;\`), got: ${shown.trim().slice(0, 80)}`,
  );
}

/** Whitespace around one ``|`` and nothing else: a separator that is safe to repeat. */
function isBareSeparator(text) {
  return /^\s*\|\s*$/.test(text);
}

/**
 * The text that goes before a new last member, copied from the union's own layout: the
 * separator between its last two members (``' | '``, or a line break and indentation when
 * it has one member per line, leading or trailing pipe alike). A lone member on a line of its
 * own after a leading pipe gets the same line prefix. A separator holding a comment is not
 * copied: ``' | '`` is used instead.
 */
function unionSeparator(file, members) {
  const last = members[members.length - 1];
  if (members.length > 1) {
    const between = file.text.slice(members[members.length - 2].end, startOf(file, last));
    return isBareSeparator(between) ? between : ' | ';
  }
  const lastStart = startOf(file, last);
  const lineStart = file.text.lastIndexOf('\n', lastStart - 1) + 1;
  const prefix = file.text.slice(lineStart, lastStart);
  return /^[ \t]*\|[ \t]*$/.test(prefix) ? file.eol + prefix : ' | ';
}

/** Appends ``name`` after the last member, in the layout the union already has. */
function unionInsertion(file, alias, name) {
  requireNameUnion(file, alias);
  const members = unionMembers(alias);
  if (members.some((m) => plainName(m) === name)) return null;
  return insertion(members[members.length - 1].end, unionSeparator(file, members) + name);
}

function editWorkloadSchema(file, workload) {
  const insertions = [];
  const addImport = importInsertion(file, workload);
  const unions = exportedAliases(file).filter((a) => a.name.text === UNION_NAME);
  if (unions.length === 0) {
    throw new Refusal(file.path, `no \`export type ${UNION_NAME} = ...\` union`);
  }
  if (unions.length > 1) {
    throw new Refusal(file.path, `declares ${UNION_NAME} more than once`);
  }
  const member = unionInsertion(file, unions[0], workload.interface);
  for (const piece of [addImport, member]) if (piece) insertions.push(piece);
  return applyEdits(file.text, insertions);
}

// -------------------------------------------------------------------------------------------
// Braced lists: `export { A, B }` and `PlatformBaseCharts = { A: 'A' }`
// -------------------------------------------------------------------------------------------

/**
 * Adds ``entry`` after the last element of a braced list, in the list's layout: inline lists
 * stay inline; one-per-line lists get a new line with the last element's indentation and
 * comma style (a trailing comment stays on its own element's line).
 * ``open`` and ``close`` are the offsets of the braces.
 */
function listEdits(file, open, close, elements, entry) {
  const last = elements[elements.length - 1];
  const comma = /^[ \t]*,/.exec(file.text.slice(last.end, close));
  if (!file.text.slice(open, close).includes('\n')) {
    if (comma) return [insertion(last.end + comma[0].length, ` ${entry},`)];
    return [insertion(last.end, `, ${entry}`)];
  }
  const lastStart = startOf(file, last);
  const lineStart = file.text.lastIndexOf('\n', lastStart - 1) + 1;
  let indent = /^[ \t]*/.exec(file.text.slice(lineStart, lastStart))[0];
  if (lineStart <= open) indent += '  ';
  const lineEnd = endOfLine(file, last.end);
  if (lineEnd > close) {
    // The last element shares the closing brace's line: the brace moves to a line of its own.
    const between = file.text.slice(last.end, close).trimEnd();
    const text = `${comma ? '' : ','}${between}${file.eol}${indent}${entry}${file.eol}`;
    return [{ from: last.end, to: close, text }];
  }
  if (comma) return [insertion(lineEnd, `${file.eol}${indent}${entry},`)];
  return [insertion(last.end, ','), insertion(lineEnd, `${file.eol}${indent}${entry}`)];
}

// -------------------------------------------------------------------------------------------
// index.ts
// -------------------------------------------------------------------------------------------

/** ``export { ... }`` blocks of the module's own names (re-exports ``from`` are not). */
function localExportBlocks(file) {
  return file.sf.statements.filter(
    (s) =>
      ts.isExportDeclaration(s) &&
      !s.moduleSpecifier &&
      s.exportClause &&
      ts.isNamedExports(s.exportClause),
  );
}

function exportedName(specifier) {
  return specifier.name.text;
}

/**
 * Whether an alias is a variants union: a union that mentions a workload schema anywhere, or
 * an alias of one schema name. ``Partial<XSchema>`` uses a schema without listing it.
 */
function listsSchemas(alias, schemaNames) {
  if (!ts.isUnionTypeNode(alias.type)) return schemaNames.has(plainName(alias.type));
  let found = false;
  const visit = (node) => {
    if (found) return;
    if (ts.isIdentifier(node) && schemaNames.has(node.text)) found = true;
    else ts.forEachChild(node, visit);
  };
  visit(alias.type);
  return found;
}

function editIndex(file, workload) {
  const insertions = [];
  const addImport = importInsertion(file, workload);
  if (addImport) insertions.push(addImport);
  const schemaNames = new Set(schemaImports(file).flatMap((imp) => imp.names));
  schemaNames.delete(workload.interface);
  const listed = exportedAliases(file).filter((alias) => listsSchemas(alias, schemaNames));
  if (listed.length === 0) {
    throw new Refusal(file.path, 'no union of the workload schemas (the variants union)');
  }
  for (const alias of listed) {
    const piece = unionInsertion(file, alias, workload.interface);
    if (piece) insertions.push(piece);
  }
  insertions.push(...exportBlockInsertions(file, workload, schemaNames));
  return applyEdits(file.text, insertions);
}

function exportBlockInsertions(file, workload, schemaNames) {
  const blocks = localExportBlocks(file).filter((block) =>
    block.exportClause.elements.some(
      (e) => schemaNames.has(exportedName(e)) || exportedName(e) === workload.interface,
    ),
  );
  if (blocks.length === 0) {
    throw new Refusal(file.path, 'no `export { ... }` block listing the workload schemas');
  }
  if (blocks.length > 1) {
    throw new Refusal(file.path, 'several `export { ... }` blocks list workload schemas');
  }
  const clause = blocks[0].exportClause;
  const elements = [...clause.elements];
  if (elements.some((e) => exportedName(e) === workload.interface)) return [];
  return listEdits(file, startOf(file, clause), clause.end - 1, elements, workload.interface);
}

// -------------------------------------------------------------------------------------------
// platform.ts: PlatformBaseCharts
// -------------------------------------------------------------------------------------------

/** The ``export const PlatformBaseCharts = { ... } as const`` object literal. */
function baseChartsObject(file) {
  const declarations = [];
  for (const statement of file.sf.statements) {
    if (!ts.isVariableStatement(statement) || !isExported(statement)) continue;
    for (const decl of statement.declarationList.declarations) {
      if (ts.isIdentifier(decl.name) && decl.name.text === BASE_CHARTS_NAME) declarations.push(decl);
    }
  }
  if (declarations.length === 0) {
    throw new Refusal(file.path, `no \`export const ${BASE_CHARTS_NAME} = { ... } as const\``);
  }
  if (declarations.length > 1) {
    throw new Refusal(file.path, `declares ${BASE_CHARTS_NAME} more than once`);
  }
  const init = declarations[0].initializer;
  const isConst =
    init &&
    ts.isAsExpression(init) &&
    ts.isTypeReferenceNode(init.type) &&
    ts.isIdentifier(init.type.typeName) &&
    init.type.typeName.text === 'const';
  const object = isConst ? init.expression : init;
  if (!object || !ts.isObjectLiteralExpression(object)) {
    throw new Refusal(file.path, `no \`export const ${BASE_CHARTS_NAME} = { ... } as const\``);
  }
  if (!isConst) {
    throw new Refusal(file.path, `${BASE_CHARTS_NAME} must be declared \`{ ... } as const\``);
  }
  return object;
}

/** The entries ``KEY: 'VALUE'``; anything else means a shape we do not edit. */
function baseChartEntries(file, object) {
  return object.properties.map((property) => {
    if (!ts.isPropertyAssignment(property)) {
      const shown = sourceOf(file, property).split('\n')[0].slice(0, 60);
      throw new Refusal(file.path, `${BASE_CHARTS_NAME}: unexpected entry '${shown}'`);
    }
    if (!ts.isStringLiteral(property.initializer)) {
      throw new Refusal(file.path, `${BASE_CHARTS_NAME} must be a flat object of string entries`);
    }
    const name = property.name;
    if (!ts.isIdentifier(name) && !ts.isStringLiteral(name)) {
      throw new Refusal(file.path, `${BASE_CHARTS_NAME}: unexpected key '${sourceOf(file, name)}'`);
    }
    return {
      node: property,
      key: name.text,
      keyQuote: ts.isStringLiteral(name) ? file.text[startOf(file, name)] : '',
      value: property.initializer.text,
      valueQuote: file.text[startOf(file, property.initializer)],
    };
  });
}

function editPlatform(file, workload) {
  const object = baseChartsObject(file);
  const entries = baseChartEntries(file, object);
  if (entries.length === 0) {
    throw new Refusal(file.path, `${BASE_CHARTS_NAME} has no entries to follow`);
  }
  const keys = entries.map((e) => e.key);
  const existing = entries.find((e) => e.key === workload.key);
  if (existing) {
    if (existing.value !== workload.key) {
      throw new Refusal(
        file.path,
        `${BASE_CHARTS_NAME}.${workload.key} is '${existing.value}', expected '${workload.key}'`,
      );
    }
    return { text: file.text, keys };
  }
  const last = entries[entries.length - 1];
  const quote = majority(entries.map((e) => e.valueQuote), last.valueQuote);
  const entry = `${last.keyQuote}${workload.key}${last.keyQuote}: ${quote}${workload.key}${quote}`;
  const nodes = entries.map((e) => e.node);
  const edits = listEdits(file, startOf(file, object), object.end - 1, nodes, entry);
  return { text: applyEdits(file.text, edits), keys: [...keys, workload.key] };
}

/** The keys of PlatformBaseCharts, or [] when the file does not have the expected shape. */
function baseChartKeys(path, text) {
  try {
    const file = parse(path, text);
    return baseChartEntries(file, baseChartsObject(file)).map((e) => e.key);
  } catch (error) {
    if (error instanceof Refusal) return [];
    throw error;
  }
}

// -------------------------------------------------------------------------------------------
// Members of an interface, for comparing two versions of one workload type
// -------------------------------------------------------------------------------------------

// Bounds for a hostile module: how deep nested object types are followed, how many members
// are listed at most.
const MEMBER_DEPTH = 12;
const MEMBER_LIMIT = 5000;

/** Top-level interfaces and type aliases without type parameters, by name (first wins). */
function localTypes(file) {
  const found = new Map();
  for (const s of file.sf.statements) {
    const named = ts.isInterfaceDeclaration(s) || ts.isTypeAliasDeclaration(s);
    if (named && !s.typeParameters && !found.has(s.name.text)) found.set(s.name.text, s);
  }
  return found;
}

function unwrap(node) {
  let inner = node;
  while (inner && ts.isParenthesizedTypeNode(inner)) inner = inner.type;
  return inner;
}

/** The local declaration a plain type name refers to (``Image``, not ``Shared<X>``). */
function localTarget(node, locals) {
  const inner = unwrap(node);
  if (!inner || !ts.isTypeReferenceNode(inner) || inner.typeArguments) return null;
  if (!ts.isIdentifier(inner.typeName)) return null;
  return locals.get(inner.typeName.text) || null;
}

/** The members of an object type (literal, or a local interface / alias of one), else null. */
function objectMembers(node, locals, seen) {
  const inner = unwrap(node);
  if (inner && ts.isTypeLiteralNode(inner)) return { members: inner.members, name: null };
  const target = localTarget(inner, locals);
  if (!target || seen.includes(target.name.text)) return null;
  if (ts.isInterfaceDeclaration(target)) {
    if (target.heritageClauses) return null; // inherited members: compared by name instead
    return { members: target.members, name: target.name.text };
  }
  const aliased = unwrap(target.type);
  if (ts.isTypeLiteralNode(aliased)) return { members: aliased.members, name: target.name.text };
  return null;
}

/** The element type of ``T[]`` or ``Array<T>``, else null. */
function arrayElement(node) {
  const inner = unwrap(node);
  if (!inner) return null;
  if (ts.isArrayTypeNode(inner)) return inner.elementType;
  const generic = ts.isTypeReferenceNode(inner) && ts.isIdentifier(inner.typeName);
  if (generic && inner.typeName.text === 'Array' && (inner.typeArguments || []).length === 1) {
    return inner.typeArguments[0];
  }
  return null;
}

const printer = ts.createPrinter({ removeComments: true });

/**
 * A type as comparable text: whitespace collapsed, string literals double-quoted, union
 * members sorted, and local aliases of non-object types (``type EnvName = string``) read
 * through, so two files that spell one type differently compare equal.
 */
function typeText(file, node, locals, seen = []) {
  const inner = unwrap(node);
  if (!inner) return 'any';
  if (ts.isUnionTypeNode(inner)) {
    const parts = inner.types.map((t) => typeText(file, t, locals, seen));
    return [...new Set(parts)].sort().join(' | ');
  }
  const element = arrayElement(inner);
  if (element) {
    const text = typeText(file, element, locals, seen);
    return /[ |&]/.test(text) ? `(${text})[]` : `${text}[]`;
  }
  if (ts.isLiteralTypeNode(inner) && ts.isStringLiteral(inner.literal)) {
    return JSON.stringify(inner.literal.text);
  }
  const target = localTarget(inner, locals);
  if (target && ts.isTypeAliasDeclaration(target) && !seen.includes(target.name.text)) {
    return typeText(file, target.type, locals, [...seen, target.name.text]);
  }
  return printer.printNode(ts.EmitHint.Unspecified, inner, file.sf).replace(/\s+/g, ' ').trim();
}

function memberKey(file, member) {
  if (ts.isIndexSignatureDeclaration(member)) {
    const [parameter] = member.parameters;
    const type = parameter && parameter.type ? sourceOf(file, parameter.type) : 'string';
    return `[key: ${type}]`;
  }
  const name = member.name;
  if (!name) return sourceOf(file, member).slice(0, 40);
  if (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name)) {
    return name.text;
  }
  return sourceOf(file, name);
}

/**
 * Lists the members of the interface ``name`` in ``text``, nested object types flattened to
 * dotted paths (``inference.maxInputLength``, ``container.secrets[].name``):
 * ``{members: [{path, optional, type}], truncated}`` or ``{error: {field, rule}}``.
 */
function interfaceMembers(path, text, name) {
  let file;
  try {
    file = parse(path, text);
  } catch (error) {
    if (error instanceof Refusal) return { error: { field: error.field, rule: error.rule } };
    throw error;
  }
  const root = file.sf.statements.find(
    (s) => ts.isInterfaceDeclaration(s) && s.name.text === name,
  );
  if (!root) return { error: { field: path, rule: `declares no interface ${name}` } };
  const locals = localTypes(file);
  const listed = [];
  let truncated = false;
  const add = (entry) => {
    if (listed.length >= MEMBER_LIMIT) truncated = true;
    else listed.push(entry);
  };
  for (const clause of root.heritageClauses || []) {
    add({ path: '(extends)', optional: false, type: clause.types.map((t) => sourceOf(file, t)).join(', ') });
  }
  const visit = (members, prefix, seen, depth) => {
    for (const member of members) {
      if (truncated) return;
      const path = prefix + memberKey(file, member);
      const optional = Boolean(member.questionToken);
      const type = member.type;
      const shape = depth < MEMBER_DEPTH ? objectMembers(type, locals, seen) : null;
      const element = arrayElement(type);
      const items = !shape && element && depth < MEMBER_DEPTH ? objectMembers(element, locals, seen) : null;
      if (shape) {
        add({ path, optional, type: 'object' });
        visit(shape.members, `${path}.`, shape.name ? [...seen, shape.name] : seen, depth + 1);
      } else if (items) {
        add({ path, optional, type: 'object[]' });
        visit(items.members, `${path}[].`, items.name ? [...seen, items.name] : seen, depth + 1);
      } else {
        add({ path, optional, type: type ? typeText(file, type, locals) : 'any' });
      }
    }
  };
  visit(root.members, '', [name], 0);
  return { members: listed, truncated };
}

// -------------------------------------------------------------------------------------------
// Entry points
// -------------------------------------------------------------------------------------------

const EDITS = {
  workloadSchema: (file, workload) => ({ text: editWorkloadSchema(file, workload) }),
  index: (file, workload) => ({ text: editIndex(file, workload) }),
  platform: (file, workload) => editPlatform(file, workload),
};

/** Runs one edit request; a refusal becomes ``{path, error: {field, rule}}``. */
function runEdit(request, workload) {
  const edit = EDITS[request.kind];
  if (!edit) {
    return { path: request.path, error: { field: request.path, rule: `unknown edit ${request.kind}` } };
  }
  try {
    return { path: request.path, ...edit(parse(request.path, request.text), workload) };
  } catch (error) {
    if (error instanceof Refusal) {
      return { path: request.path, error: { field: error.field, rule: error.rule } };
    }
    throw error;
  }
}

function runEdits(request) {
  return { edits: (request.edits || []).map((edit) => runEdit(edit, request.workload)) };
}

function readStdin() {
  return require('fs').readFileSync(0, 'utf8');
}

if (require.main === module) {
  process.stdout.write(JSON.stringify(runEdits(JSON.parse(readStdin()))));
}

module.exports = { runEdits, runEdit, baseChartKeys, interfaceMembers, Refusal, readStdin };
