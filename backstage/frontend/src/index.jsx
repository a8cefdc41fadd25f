/**
 * The classic test app with our field module, registered where the Create page is mounted:
 * what a platform team adds to its App.tsx for the template's cross-field rules.
 */
import { LowerThanFieldExtension } from '@inference-scaffolder/backstage-plugin-scaffolder-frontend-module-inference';
import { renderClassicApp } from './classicApp.jsx';

renderClassicApp(<LowerThanFieldExtension />);
