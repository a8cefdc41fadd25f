/**
 * The answers part of `inference:scaffold`'s input schema.
 *
 * `answers.schema.json` is GENERATED from the Python answers schema
 * (`inference-scaffolder backstage-template`) and is the one source of truth. The action's
 * other inputs are zod; `values` is declared in zod as an object of answers and then given
 * the generated JSON Schema unchanged, because zod (and zod-to-json-schema, which
 * createTemplateAction uses) cannot express several of its rules losslessly (`not`,
 * `uniqueItems`, titles). The CLI re-validates everything; this is the early check.
 */
import type { JsonObject } from '@backstage/types';
import answersSchema from '../answers.schema.json';

export { answersSchema };

type SchemaHolder = { schema?: { input?: unknown } };

/** Put the generated answers schema in place of `values` in an action's input schema. */
export function withAnswersSchema<T extends SchemaHolder>(action: T): T {
  const input = action.schema?.input as { properties?: Record<string, unknown> } | undefined;
  if (!input?.properties?.values) {
    throw new Error('the action has no values input to describe');
  }
  input.properties.values = structuredClone(answersSchema) as JsonObject;
  return action;
}
