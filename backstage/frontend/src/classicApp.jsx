/**
 * A minimal real Backstage app: the scaffolder's Create page and the catalog, wired the way
 * an app made by @backstage/create-app wires them (createApp from @backstage/app-defaults,
 * FlatRoutes, the SCM integration APIs). tests/backstage/test_backstage_form.py drives it in
 * Chromium against the real backend in ../backend to see the form users fill in.
 *
 * Test-only parts, kept here and out of the plugins: the app signs in with the backend's
 * static access token (signIn.jsx), and the config comes from /config.js so one bundle
 * serves every test port. index.jsx renders it with our field module, bare.jsx without it (an
 * adopter's app that never installed the module); nfs.jsx is the same app on Backstage's new
 * frontend system.
 */
import '@backstage/ui/css/styles.css';
import React from 'react';
import { createRoot } from 'react-dom/client';
import { Navigate, Route } from 'react-router-dom';
import { createApp } from '@backstage/app-defaults';
import { AppRouter, FlatRoutes } from '@backstage/core-app-api';
import { AlertDisplay, OAuthRequestDialog } from '@backstage/core-components';
import {
  configApiRef,
  createApiFactory,
} from '@backstage/core-plugin-api';
import {
  ScmAuth,
  ScmIntegrationsApi,
  scmIntegrationsApiRef,
} from '@backstage/integration-react';
import {
  CatalogEntityPage,
  CatalogIndexPage,
  catalogPlugin,
} from '@backstage/plugin-catalog';
import { ScaffolderPage, scaffolderPlugin } from '@backstage/plugin-scaffolder';
import { ScaffolderFieldExtensions } from '@backstage/plugin-scaffolder-react';
import { StaticTokenSignIn } from './signIn.jsx';

/** The same API factories create-app's packages/app/src/apis.ts registers. */
const apis = [
  createApiFactory({
    api: scmIntegrationsApiRef,
    deps: { configApi: configApiRef },
    factory: ({ configApi }) => ScmIntegrationsApi.fromConfig(configApi),
  }),
  ScmAuth.createDefaultApiFactory(),
];

/**
 * Renders the app into #root. `fieldExtensions`: what a platform team puts inside
 * ScaffolderFieldExtensions in its App.tsx; none (the default) leaves the Create page stock.
 */
export function renderClassicApp(fieldExtensions = null) {
  const app = createApp({
    apis,
    components: { SignInPage: StaticTokenSignIn },
    bindRoutes({ bind }) {
      bind(catalogPlugin.externalRoutes, {
        createComponent: scaffolderPlugin.routes.root,
      });
    },
  });

  const routes = (
    <FlatRoutes>
      <Route path="/" element={<Navigate to="create" />} />
      <Route path="/catalog" element={<CatalogIndexPage />} />
      <Route path="/catalog/:namespace/:kind/:name" element={<CatalogEntityPage />}>
        <div data-testid="entity-page">entity</div>
      </Route>
      <Route path="/create" element={<ScaffolderPage />}>
        {fieldExtensions && <ScaffolderFieldExtensions>{fieldExtensions}</ScaffolderFieldExtensions>}
      </Route>
    </FlatRoutes>
  );

  const App = app.createRoot(
    <>
      <AlertDisplay />
      <OAuthRequestDialog />
      <AppRouter>{routes}</AppRouter>
    </>,
  );

  createRoot(document.getElementById('root')).render(<App />);
}
