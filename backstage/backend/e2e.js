'use strict';
/**
 * The backend used by tests/test_backstage_e2e.py: the normal one plus test-only actions
 * that stand in for GitHub (offline), so the task can run every other step for real.
 */
const { buildBackend } = require('./index');

buildBackend([require('./e2e-actions').default]).start();
