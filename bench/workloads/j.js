'use strict';
// j: `fs/promises.readFile` of N small files (10,000 of 100 bytes, created
// in a temporary directory first) by 64 workers. Untimed: creating and
// removing the files. Timed: the reads. Check: the total bytes read.
const fs = require('fs');
const fsp = require('fs/promises');
const os = require('os');
const path = require('path');
const C = require('./io_common.js');
const N = C.n(10000);

C.main(null, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-j-'));
  try {
    const files = [];
    for (let i = 1; i <= N; i++) {
      files.push(path.join(dir, `${String(i).padStart(5, '0')}.txt`));
      fs.writeFileSync(files[i - 1], `${String(i).padEnd(99)}\n`);
    }
    const t0 = C.clock();
    const texts = await C.pool(N, 64, (i) => fsp.readFile(files[i]));
    const t1 = C.clock();
    let total = 0;
    for (const t of texts) total += t.length;
    return [t0, t1, total];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
