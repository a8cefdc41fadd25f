/**
 * Backstage scaffolder actions that run the inference-scaffolder CLI:
 * `inference:scaffold` and `inference:schema-pr`.
 *
 * @packageDocumentation
 */
export { scaffolderModuleInference as default } from './module';
export { readSettings } from './cli';
export type { CliSettings } from './cli';
export { createInferenceScaffoldAction } from './actions/scaffold';
export { createInferenceSchemaPrAction } from './actions/schemaPr';
