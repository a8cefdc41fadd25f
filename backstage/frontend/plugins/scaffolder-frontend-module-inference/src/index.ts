/**
 * Scaffolder form fields for the ML inference template (template.yaml), for apps on
 * Backstage's classic frontend system: register the extension where the Create page is
 * mounted (`<ScaffolderFieldExtensions><LowerThanFieldExtension /></ScaffolderFieldExtensions>`).
 * Apps on the new frontend system install the module from `./alpha` instead.
 *
 * Without this package the template still works: rjsf falls back to the ordinary number
 * field for an unknown `ui:field` (its help carries its title and description), and the CLI
 * refuses the values after submission.
 *
 * @packageDocumentation
 */
import { scaffolderPlugin } from '@backstage/plugin-scaffolder';
import { createScaffolderFieldExtension } from '@backstage/plugin-scaffolder-react';
import { LOWER_THAN_FIELD, LowerThanField, lowerThanValidation } from './LowerThanField';

export {
  LOWER_THAN_FIELD,
  LowerThanField,
  lowerThanMessage,
  lowerThanValidation,
} from './LowerThanField';
export type { LowerThanOptions } from './LowerThanField';

/** The `InferenceLowerThan` field, as a classic app registers a field extension. */
export const LowerThanFieldExtension = scaffolderPlugin.provide(
  createScaffolderFieldExtension({
    name: LOWER_THAN_FIELD,
    component: LowerThanField,
    validation: lowerThanValidation,
  }),
);
