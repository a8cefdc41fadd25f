import { coreServices, createBackendModule } from '@backstage/backend-plugin-api';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { readSettings } from './cli';
import { createInferenceScaffoldAction } from './actions/scaffold';
import { createInferenceSchemaPrAction } from './actions/schemaPr';

/**
 * The scaffolder module: registers `inference:scaffold` and `inference:schema-pr`, both
 * thin wrappers around the inference-scaffolder CLI installed on the backend host.
 *
 * @public
 */
export const scaffolderModuleInference = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'inference',
  register(env) {
    env.registerInit({
      deps: {
        scaffolder: scaffolderActionsExtensionPoint,
        config: coreServices.rootConfig,
        logger: coreServices.logger,
      },
      async init({ scaffolder, config, logger }) {
        const settings = readSettings(config);
        logger.info(
          `inference actions use '${settings.command}' (timeout ${settings.timeoutSeconds}s)`,
        );
        scaffolder.addActions(
          createInferenceScaffoldAction(settings),
          createInferenceSchemaPrAction(settings, config),
        );
      },
    });
  },
});
