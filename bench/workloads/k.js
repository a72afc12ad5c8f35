'use strict';
// k: N (200) `execFile("true", [])` (child_process, promisified), 16 at a
// time (16 workers). Timed: all of them. Check: the exit codes 0 (execFile
// rejects on any other).
const { promisify } = require('util');
const execFile = promisify(require('child_process').execFile);
const C = require('./io_common.js');
const N = C.n(200);

C.main(null, async () => {
  const t0 = C.clock();
  const rs = await C.pool(N, 16, () => execFile('true', []).then(() => 0, (e) => e.code));
  const t1 = C.clock();
  return [t0, t1, rs.filter((code) => code === 0).length];
});
