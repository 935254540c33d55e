#!/usr/bin/env node
/**
 * The `lro` executable: runs the CLI on the process's arguments and exits
 * with its code (see `lro --help`).
 * @module
 */
import { run } from './program.js';

// Node's own warnings go to stderr as usual, except DEP0123 ("Setting the TLS
// ServerName to an IP address"), which grpc-js triggers for `--grpc IP:PORT`
// with TLS and which says nothing a user of lro can act on.
process.removeAllListeners('warning');
process.on('warning', (warning: Error & { code?: string }) => {
  if (warning.code !== 'DEP0123') process.stderr.write(`(node) ${warning.name}: ${warning.message}\n`);
});

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(70);
  },
);
