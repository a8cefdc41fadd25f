/**
 * The classic test app without our field module: an adopter's app that installed the
 * backend module only. tests/backstage/test_backstage_form.py checks that the template
 * still shows every field's title and help there, and that the CLI refuses what the form
 * cannot check.
 */
import { renderClassicApp } from './classicApp.jsx';

renderClassicApp();
