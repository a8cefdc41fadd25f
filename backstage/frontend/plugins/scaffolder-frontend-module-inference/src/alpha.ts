/**
 * The same form field for apps on Backstage's new frontend system (`createApp` from
 * `@backstage/frontend-defaults`), where field extensions are extensions of the scaffolder
 * plugin rather than React children of the Create page:
 *
 *   import { inferenceFormFieldsModule } from '@inference-scaffolder/backstage-plugin-scaffolder-frontend-module-inference/alpha';
 *   createApp({ features: [..., inferenceFormFieldsModule] });
 *
 * Apps with feature discovery pick the module up from the package's `./alpha` export. The
 * field, its validation and its words are the ones the classic export uses.
 *
 * @packageDocumentation
 */
import { createFrontendModule } from '@backstage/frontend-plugin-api';
import {
  FormFieldBlueprint,
  createFormField,
} from '@backstage/plugin-scaffolder-react/alpha';
import { LOWER_THAN_FIELD, LowerThanField, lowerThanValidation } from './LowerThanField';

/**
 * The `InferenceLowerThan` field as the new frontend system declares a form field.
 *
 * @alpha
 */
export const lowerThanFormField = createFormField({
  name: LOWER_THAN_FIELD,
  component: LowerThanField,
  validation: lowerThanValidation,
});

/**
 * The field as an extension the scaffolder plugin loads.
 *
 * @alpha
 */
export const lowerThanFormFieldExtension = FormFieldBlueprint.make({
  name: 'inference-lower-than',
  params: { field: async () => lowerThanFormField },
});

/**
 * Everything this package adds to the scaffolder plugin, as one installable module.
 *
 * @alpha
 */
export const inferenceFormFieldsModule = createFrontendModule({
  pluginId: 'scaffolder',
  extensions: [lowerThanFormFieldExtension],
});

export default inferenceFormFieldsModule;
