'use strict';
/**
 * Backstage scaffolder backend module: the `inference:scaffold` and `inference:schema-pr`
 * actions, both thin wrappers around the inference-scaffolder CLI (the Python package must
 * be installed on the backend host; see docs/backstage.md).
 *
 * Install: `backend.add(require('@inference-scaffolder/backstage-plugin-scaffolder-backend-module-inference').default)`
 * Config (all optional):
 *   inferenceScaffolder:
 *     command: /opt/inference-scaffolder/bin/inference-scaffolder  # default: on PATH
 *     args: []                    # arguments placed before the subcommand
 *     timeoutSeconds: 300         # per CLI run; the process group is killed after it
 *     env: { INFERENCE_SCAFFOLDER_CRD_SCHEMAS: /opt/crd-schemas }
 *     schemaPr:                   # unset: the inference:schema-pr step is skipped
 *       repoUrl: github.com?owner=acme&repo=platform-schemas-types
 *       gitUrl: https://github.com/acme/platform-schemas-types.git  # default: from repoUrl
 *       baseBranch: main
 */
const { coreServices, createBackendModule } = require('@backstage/backend-plugin-api');
const { scaffolderActionsExtensionPoint } = require('@backstage/plugin-scaffolder-node');
const { readSettings } = require('./cli');
const { createInferenceScaffoldAction } = require('./scaffoldAction');
const { createInferenceSchemaPrAction } = require('./schemaPrAction');

const inferenceModule = createBackendModule({
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

module.exports = {
  default: inferenceModule,
  createInferenceScaffoldAction,
  createInferenceSchemaPrAction,
  readSettings,
};
