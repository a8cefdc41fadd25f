'use strict';
/**
 * Input and output schemas of the actions (JSON Schema, draft-07 subset, as the scaffolder
 * validates step inputs with it). The answers part is GENERATED from the Python answers
 * schema into answers.schema.json (`inference-scaffolder backstage-template`); the CLI
 * re-validates everything, so this is an early, friendlier check, not the authority.
 */
const answersSchema = require('./answers.schema.json');

const SAFE_RELATIVE_PATH = '^(?!/)(?!.*(^|/)\\.\\.(/|$))[A-Za-z0-9._/-]*$';

function scaffoldInputSchema() {
  return {
    type: 'object',
    required: ['values'],
    additionalProperties: false,
    properties: {
      targetPath: {
        title: 'Target path',
        description: 'Folder inside the workspace to generate into (default: the workspace root).',
        type: 'string',
        maxLength: 255,
        pattern: SAFE_RELATIVE_PATH,
      },
      values: answersSchema,
    },
  };
}

function scaffoldOutputSchema() {
  return {
    type: 'object',
    properties: {
      path: { title: 'Where the service was generated, relative to the workspace', type: 'string' },
      serviceName: { title: 'Service name', type: 'string' },
      environments: { title: 'Environments generated', type: 'array', items: { type: 'string' } },
      files: { title: 'Generated files', type: 'array', items: { type: 'string' } },
      summary: { title: 'The CLI\'s JSON summary (incl. the validation report)', type: 'object' },
    },
  };
}

function schemaPrInputSchema() {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      token: {
        title: 'GitHub token',
        description:
          'Optional, e.g. ${{ secrets.USER_OAUTH_TOKEN }}; default: the token of the GitHub ' +
          'integration for the schema repository host',
        type: 'string',
        maxLength: 1024,
      },
      updateExisting: {
        title: 'Replace an existing, different version',
        description:
          'When platform-schemas-types already has a different ML_INFERENCE_LOAD chart or ' +
          'interface, propose replacing it (the pull request lists every difference). ' +
          'Default false: the step fails with the differences and changes nothing.',
        type: 'boolean',
        default: false,
      },
    },
  };
}

function schemaPrOutputSchema() {
  return {
    type: 'object',
    properties: {
      pullRequestUrl: { title: 'URL of the pull request (empty in dry-run or when skipped)', type: 'string' },
      status: { title: 'opened, updated, unchanged or skipped', type: 'string' },
    },
  };
}

module.exports = {
  answersSchema,
  scaffoldInputSchema,
  scaffoldOutputSchema,
  schemaPrInputSchema,
  schemaPrOutputSchema,
};
