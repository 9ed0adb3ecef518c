/**
 * extension/src/contract.ts is what json2ts makes of the contract's JSON Schema (the
 * Python suite checks that the schema is current): regenerate with `npm run contract`.
 */
import { spawnSync } from 'child_process';
import { join } from 'path';

const SCRIPT = join(__dirname, '..', 'scripts', 'contract-types.js');

describe('the generated contract types', () => {
  it('are current', () => {
    const check = spawnSync(process.execPath, [SCRIPT, '--check'], { encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  }, 30000);

  it('are checked: a stale file fails', () => {
    // the same check on a changed schema must fail (the test above can fail)
    const stale = spawnSync(
      process.execPath,
      ['-e', `
        const fs = require('fs');
        const read = fs.readFileSync;
        fs.readFileSync = (p, e) => p.endsWith('contract.schema.json')
          ? JSON.stringify({ ...JSON.parse(read(p, e)), description: 'changed' }) : read(p, e);
        process.argv.push('--check');
        require(${JSON.stringify(SCRIPT)}).main();
      `],
      { encoding: 'utf8' }
    );
    expect(stale.status).toBe(1);
    expect(stale.stderr).toMatch(/contract\.ts is stale/);
  }, 30000);
});
