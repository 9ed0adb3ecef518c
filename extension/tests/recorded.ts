/**
 * Answers recorded from a real Jupyter server on every run of the Python suite
 * (tests/test_rest_contract.py, which first checks each against the contract).
 */
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';

export const FIXTURES = join(__dirname, 'fixtures');

/** A fresh copy of the recorded answer `name` (`extension/tests/fixtures/<name>.json`). */
export function recorded(name: string): any {
  const path = join(FIXTURES, `${name}.json`);
  if (!existsSync(path)) {
    throw new Error(
      `${path} is missing: the fixtures are recorded from a real server by the Python ` +
        'suite. Run `make test-python` (or `.venv/bin/python -m pytest ' +
        'tests/test_rest_contract.py`) before jest.'
    );
  }
  return JSON.parse(readFileSync(path, 'utf8'));
}
