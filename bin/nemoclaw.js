#!/usr/bin/env node
// The CLI, bundled at build time (scripts/bundle.mjs) so start-up loads a few files, not ~100.
import '../dist/bundle/main.js';
