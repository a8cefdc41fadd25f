// Node globals some Backstage dependencies still read in the browser; backstage-cli's webpack
// config provides the same ones (ProvidePlugin for Buffer and process).
import { Buffer } from 'buffer';
import process from 'process';

export { Buffer, process };
