/**
 * The same test app on Backstage's new frontend system: `createApp` from
 * @backstage/frontend-defaults with the catalog and scaffolder plugins' `/alpha` features,
 * our form field installed as a module of the scaffolder plugin, the way a platform team on
 * the new system installs it. tests/backstage/test_backstage_form.py checks that the
 * template's cross-field rule shows its words here too.
 */
import '@backstage/ui/css/styles.css';
import { createRoot } from 'react-dom/client';
import { createApp } from '@backstage/frontend-defaults';
import { createFrontendModule } from '@backstage/frontend-plugin-api';
import { SignInPageBlueprint } from '@backstage/plugin-app-react';
import catalogPlugin from '@backstage/plugin-catalog/alpha';
import scaffolderPlugin from '@backstage/plugin-scaffolder/alpha';
import { inferenceFormFieldsModule } from '@inference-scaffolder/backstage-plugin-scaffolder-frontend-module-inference/alpha';
import { StaticTokenSignIn } from './signIn.jsx';

/** Test-only: the static-token sign-in, as the app plugin's sign-in page. */
const testSignIn = createFrontendModule({
  pluginId: 'app',
  extensions: [SignInPageBlueprint.make({ params: { loader: async () => StaticTokenSignIn } })],
});

const app = createApp({
  features: [catalogPlugin, scaffolderPlugin, inferenceFormFieldsModule, testSignIn],
});

createRoot(document.getElementById('root')).render(app.createRoot());
