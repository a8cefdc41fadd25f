/**
 * Bundle the test apps with esbuild into dist/, dist/bare/ and dist/nfs/ (app.js, app.css,
 * index.html).
 *
 * backstage-cli would normally build an app with webpack; esbuild gives the same browser
 * bundle in seconds, given the Node shims backstage-cli also provides (buffer, stream,
 * process) and loaders for the assets packages import (fonts, images).
 *
 * Our field module comes from its packed tarball, unpacked by
 * scripts/install-backstage-frontend.sh into node_modules/.inference-scaffolder-pack/: the
 * apps run the built package an adopter installs, not its TypeScript sources.
 */
import { build } from 'esbuild';
import { mkdir, copyFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.join(here, 'dist');
const FIELD_MODULE = '@inference-scaffolder/backstage-plugin-scaffolder-frontend-module-inference';
const packedModules = path.join(here, 'node_modules', '.inference-scaffolder-pack');

/** Resolves the field module (and its `./alpha`) in the unpacked tarball. */
const packedFieldModule = {
  name: 'packed-field-module',
  setup(build) {
    const ours = new RegExp(`^${FIELD_MODULE}(/.*)?$`);
    build.onResolve({ filter: ours }, async args => {
      if (args.pluginData === 'packed') return undefined;
      const result = await build.resolve(args.path, {
        kind: args.kind,
        resolveDir: packedModules,
        pluginData: 'packed',
      });
      if (result.errors.length > 0) return { errors: result.errors };
      if (!result.path.startsWith(packedModules + path.sep)) {
        return { errors: [{ text: `${args.path}: not in ${packedModules} (run the install script)` }] };
      }
      return { path: result.path };
    });
  },
};
const assetLoaders = Object.fromEntries(
  ['.svg', '.png', '.jpg', '.gif', '.woff', '.woff2', '.ttf', '.eot'].map(ext => [ext, 'dataurl']),
);

// Each test app: its entry in src/ and its folder under dist/, served on a port of its own.
// The classic app (createApp from @backstage/app-defaults) with our field module; the same app
// without it (an adopter who installed the backend module only); and the app on the new
// frontend system.
const apps = [
  { entry: 'index.jsx', folder: '.' },
  { entry: 'bare.jsx', folder: 'bare' },
  { entry: 'nfs.jsx', folder: 'nfs' },
];

// One esbuild run for all apps: it reads and parses the shared packages once, then writes a
// self-contained app.js and app.css per app.
await build({
  entryPoints: Object.fromEntries(
    apps.map(({ entry, folder }) => [path.join(folder, 'app'), path.join(here, 'src', entry)]),
  ),
  outdir,
  bundle: true,
  minify: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2022',
  jsx: 'automatic',
  // The apps' own settings: esbuild would otherwise read the backend's ../tsconfig.json
  // (Backstage's CLI config, classic `React.createElement` JSX) for every file here.
  tsconfigRaw: { compilerOptions: { jsx: 'react-jsx' } },
  loader: assetLoaders,
  define: {
    'process.env.NODE_ENV': '"production"',
    global: 'globalThis',
  },
  inject: [path.join(here, 'src', 'shims.js')],
  alias: { stream: 'stream-browserify', buffer: 'buffer', process: 'process/browser' },
  plugins: [packedFieldModule],
  logLevel: 'warning',
});
for (const { folder } of apps) {
  await mkdir(path.join(outdir, folder), { recursive: true });
  await copyFile(path.join(here, 'public', 'index.html'), path.join(outdir, folder, 'index.html'));
}
console.log(`built ${outdir}`);
