#!/usr/bin/env node
/**
 * The `lro` executable: runs the CLI on the process's arguments and exits
 * with its code (see `lro --help`).
 * @module
 */
import { run } from './program.js';

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(70);
  },
);
