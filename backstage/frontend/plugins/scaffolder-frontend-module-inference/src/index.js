/**
 * Scaffolder form fields for the ML inference template (template.yaml).
 *
 * JSON Schema compares a value with constants only, and Backstage's form validator has no
 * `$data` references, so a rule between two answers (max_input_tokens < max_total_tokens)
 * needs a field extension: the number field stays the stock one, and a validation function
 * runs when the user presses Next. The rule's words come from the template
 * (`ui:options.message`), which is generated from the same declaration the CLI checks.
 *
 * Without this module the template still works: rjsf falls back to the ordinary number field
 * for an unknown `ui:field` (its help carries its title and description), and the CLI refuses
 * the values after submission.
 *
 * Plain ES modules without JSX, so it needs no build step.
 */
import { createElement } from 'react';
import { scaffolderPlugin } from '@backstage/plugin-scaffolder';
import { createScaffolderFieldExtension } from '@backstage/plugin-scaffolder-react';

/** The `ui:field` name template.yaml uses. */
export const LOWER_THAN_FIELD = 'InferenceLowerThan';

/**
 * The stock rjsf number field with its label. rjsf leaves the label and the description of a
 * field with a `ui:field` to that field, and shows its `ui:help` only; the template's help for
 * this field carries the title and the description too (so an app without this module still
 * shows them), so the field draws the label and leaves the description to the help. Errors and
 * help stay with Backstage's field template.
 */
export function LowerThanField(props) {
  const { NumberField } = props.registry.fields;
  const { 'ui:field': _custom, ...uiSchema } = props.uiSchema ?? {};
  return createElement(NumberField, { ...props, uiSchema });
}

/**
 * `{value}` and `{limit}` in the message become the two numbers, so the form says what the
 * CLI would say for the same answers.
 */
export function lowerThanMessage(template, value, limit) {
  return template.replaceAll('{value}', String(value)).replaceAll('{limit}', String(limit));
}

/**
 * Adds an error when the field is not lower than the field named by `ui:options.lowerThan`.
 * Either value missing or not a number is left to the schema's own rules.
 */
export function lowerThanValidation(value, validation, context) {
  const options = context.uiSchema?.['ui:options'] ?? {};
  const limit = context.formData?.[options.lowerThan];
  if (typeof value !== 'number' || typeof limit !== 'number' || value < limit) {
    return;
  }
  const template = options.message ?? `must be lower than ${options.lowerThan} ({value} >= {limit})`;
  validation.addError(lowerThanMessage(template, value, limit));
}

export const LowerThanFieldExtension = scaffolderPlugin.provide(
  createScaffolderFieldExtension({
    name: LOWER_THAN_FIELD,
    component: LowerThanField,
    validation: lowerThanValidation,
  }),
);
