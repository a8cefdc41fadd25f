/**
 * The `InferenceLowerThan` form field: the stock number field plus a rule between two answers.
 *
 * JSON Schema compares a value with constants only, and Backstage's form validator has no
 * `$data` references, so a rule between two answers (max_input_tokens < max_total_tokens)
 * needs a field extension: the number field stays the stock one, and a validation function
 * runs when the user presses Next. The rule's words come from the template
 * (`ui:options.message`), which is generated from the same declaration the CLI checks.
 */
import type {
  CustomFieldValidator,
  FieldExtensionComponentProps,
} from '@backstage/plugin-scaffolder-react';

/** The `ui:field` name template.yaml uses. */
export const LOWER_THAN_FIELD = 'InferenceLowerThan';

/** The field's `ui:options` in template.yaml. */
export type LowerThanOptions = {
  /** The answer this one must stay below. */
  lowerThan?: string;
  /** The refusal, with `{value}` and `{limit}` for the two numbers. */
  message?: string;
};

/**
 * The stock rjsf number field with its label. rjsf leaves the label and the description of a
 * field with a `ui:field` to that field, and shows its `ui:help` only; the template's help for
 * this field carries the title and the description too (so an app without this module still
 * shows them), so the field draws the label and leaves the description to the help. Errors
 * and help stay with Backstage's field template.
 */
export function LowerThanField(
  props: FieldExtensionComponentProps<number | undefined, LowerThanOptions>,
) {
  const { NumberField } = props.registry.fields;
  const { 'ui:field': _custom, ...uiSchema } = props.uiSchema ?? {};
  return <NumberField {...props} uiSchema={uiSchema} />;
}

/**
 * `{value}` and `{limit}` in the message become the two numbers, so the form says what the
 * CLI would say for the same answers.
 */
export function lowerThanMessage(template: string, value: number, limit: number): string {
  return template.replaceAll('{value}', String(value)).replaceAll('{limit}', String(limit));
}

/**
 * Adds an error when the field is not lower than the field named by `ui:options.lowerThan`.
 * Either value missing or not a number is left to the schema's own rules.
 */
export const lowerThanValidation: CustomFieldValidator<number | undefined, LowerThanOptions> = (
  value,
  validation,
  context,
) => {
  const options = context.uiSchema?.['ui:options'] ?? {};
  const limit = options.lowerThan ? context.formData?.[options.lowerThan] : undefined;
  if (typeof value !== 'number' || typeof limit !== 'number' || value < limit) {
    return;
  }
  const template =
    options.message ?? `must be lower than ${options.lowerThan} ({value} >= {limit})`;
  validation.addError(lowerThanMessage(template, value, limit));
};
