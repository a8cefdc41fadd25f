'use strict';
/**
 * A minimal real Backstage backend: catalog (with the Template kind), scaffolder, the
 * GitHub publisher and our inference actions. Plain CommonJS, no build step.
 *
 * Start it with `node backend/index.js --config app-config.yaml [--config more.yaml]`.
 * The end-to-end tests add the test-only actions from ./e2e-actions.js through
 * ./e2e.js; this file stays what a platform team would run.
 */
const { createBackend } = require('@backstage/backend-defaults');

/** Build the backend with the standard features plus any extra ones (tests add theirs). */
function buildBackend(extraFeatures = []) {
  const backend = createBackend();
  backend.add(require('@backstage/plugin-catalog-backend').default);
  backend.add(
    require('@backstage/plugin-catalog-backend-module-scaffolder-entity-model').default,
  );
  backend.add(require('@backstage/plugin-scaffolder-backend').default);
  backend.add(require('@backstage/plugin-scaffolder-backend-module-github').default);
  backend.add(
    require('@inference-scaffolder/backstage-plugin-scaffolder-backend-module-inference')
      .default,
  );
  for (const feature of extraFeatures) {
    backend.add(feature);
  }
  return backend;
}

module.exports = { buildBackend };

if (require.main === module) {
  buildBackend().start();
}
