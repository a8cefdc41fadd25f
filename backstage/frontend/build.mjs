/**
 * Bundle the test apps with esbuild into dist/ and dist/nfs/ (app.js, app.css, index.html).
 *
 * backstage-cli would normally build an app with webpack; esbuild gives the same browser
 * bundle in seconds, given the Node shims backstage-cli also provides (buffer, stream,
 * process) and loaders for the assets packages import (fonts, images).
 */
import { build } from 'esbuild';
import { mkdir, copyFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.join(here, 'dist');
const assetLoaders = Object.fromEntries(
  ['.svg', '.png', '.jpg', '.gif', '.woff', '.woff2', '.ttf', '.eot'].map(ext => [ext, 'dataurl']),
);

/** One app bundle (app.js, app.css, index.html) from ``entry`` into ``target``. */
async function bundle(entry, target) {
  await mkdir(target, { recursive: true });
  await build({
    entryPoints: { app: path.join(here, 'src', entry) },
    outdir: target,
    bundle: true,
    minify: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    jsx: 'automatic',
    loader: assetLoaders,
    define: {
      'process.env.NODE_ENV': '"production"',
      global: 'globalThis',
    },
    inject: [path.join(here, 'src', 'shims.js')],
    alias: { stream: 'stream-browserify', buffer: 'buffer', process: 'process/browser' },
    logLevel: 'warning',
  });
  await copyFile(path.join(here, 'public', 'index.html'), path.join(target, 'index.html'));
}

// The classic app (createApp from @backstage/app-defaults), and the same app on the new
// frontend system in dist/nfs/, served on a port of its own.
await bundle('index.jsx', outdir);
await bundle('nfs.jsx', path.join(outdir, 'nfs'));
console.log(`built ${outdir}`);
