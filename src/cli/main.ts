// The nemoclaw CLI with every command: what `--help` and an unknown word need. Only the module of
// the command being run is imported (all of them for --help or an unknown word). bin/nemoclaw.js
// normally runs a one-command bundle instead (scripts/bundle.mjs), which holds only that
// command's code; this entry is the "all" bundle.
import { runCli } from './cli-runner.js';
import { COMMANDS } from './command-table.js';

void runCli(COMMANDS);
