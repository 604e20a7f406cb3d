// Temporary folders for tests, removed when the test file's process exits (node:test runs each file in
// its own process), so a suite run leaves nothing under the system temp folder. KEEP_TEST_TMP=1 keeps them.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const made: string[] = [];
process.on('exit', () => {
  if (process.env.KEEP_TEST_TMP) return;
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

export function tempDir(prefix = 'prrl-test-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}
