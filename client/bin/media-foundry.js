#!/usr/bin/env node
// A committed launcher, so npm links the bin at install time, before the build has made dist/.
import '../dist/cli/main.js';
