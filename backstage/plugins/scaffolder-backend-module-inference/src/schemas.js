'use strict';
/**
 * Input and output schemas of the actions (JSON Schema, draft-07 subset, as the scaffolder
 * validates step inputs with it). The answers part is GENERATED from the Python answers
 * schema into answers.schema.json (`inference-scaffolder backstage-template`); the CLI
 * re-validates everything, so this is an early, friendlier check, not the authority.
 */
const answersSchema = require('./answers.schema.json');

const SAFE_RELATIVE_PATH = '^(?!/)(?!.*(^|/)\\.\\.(/|$))[A-Za-z0-9._/-]*$';
const REPO_URL = '^[A-Za-z0-9.-]+(:[0-9]+)?\\?[A-Za-z0-9=&._-]+$';

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
      repoUrl: {
        title: 'Schema repository',
        description:
          'platform-schemas-types location as RepoUrlPicker writes it (host?owner=..&repo=..); ' +
          'default: inferenceScaffolder.schemaPr.repoUrl',
        type: 'string',
        maxLength: 256,
        pattern: REPO_URL,
      },
      baseBranch: {
        title: 'Base branch',
        type: 'string',
        maxLength: 255,
        pattern: '^[A-Za-z0-9][A-Za-z0-9._/-]*$',
      },
      token: {
        title: 'GitHub token',
        description:
          'Optional, e.g. ${{ secrets.USER_OAUTH_TOKEN }}; default: the GitHub integration token',
        type: 'string',
        maxLength: 1024,
      },
    },
  };
}

function schemaPrOutputSchema() {
  return {
    type: 'object',
    properties: {
      pullRequestUrl: { title: 'URL of the pull request (empty in dry-run)', type: 'string' },
      summary: { title: 'The CLI\'s JSON summary', type: 'object' },
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
