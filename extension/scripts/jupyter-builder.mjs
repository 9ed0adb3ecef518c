#!/usr/bin/env node
/**
 * Run the `jupyter-builder` CLI (from the `jupyter-builder` Python package)
 * with the given arguments, e.g. `build .` or `build --development .`.
 *
 * npm scripts do not see an unactivated virtual environment, so the CLI is
 * looked up on PATH, then in $VIRTUAL_ENV, then in the repository's `.venv`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const isWindows = process.platform === 'win32';
const names = isWindows
  ? ['jupyter-builder.exe', 'jupyter-builder.cmd', 'jupyter-builder']
  : ['jupyter-builder'];
const binDir = isWindows ? 'Scripts' : 'bin';

function* candidates() {
  for (const dir of (process.env.PATH || '').split(delimiter)) {
    if (dir) {
      yield dir;
    }
  }
  if (process.env.VIRTUAL_ENV) {
    yield join(process.env.VIRTUAL_ENV, binDir);
  }
  yield join(root, '.venv', binDir);
}

let cli = null;
for (const dir of candidates()) {
  for (const name of names) {
    const path = join(dir, name);
    if (existsSync(path)) {
      cli = path;
      break;
    }
  }
  if (cli) {
    break;
  }
}

if (!cli) {
  console.error(
    'jupyter-builder was not found. Install it with `pip install jupyter-builder` ' +
      '(it comes with the build requirements of this package) or activate the ' +
      'virtual environment that has it.'
  );
  process.exit(1);
}

console.log(`Running ${cli} ${process.argv.slice(2).join(' ')}`);
const result = spawnSync(cli, process.argv.slice(2), {
  cwd: root,
  stdio: 'inherit'
});
if (result.error) {
  console.error(`Could not run ${cli}: ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
