'use strict';
// i_fs: `fs/promises.writeFile` of N MiB (50) to a temporary file (in
// os.tmpdir()), then `readFile` of it. Untimed: building the data,
// comparing, removing the file. Timed: the write and the read. Check: the
// length read.
const fs = require('fs');
const fsp = require('fs/promises');
const os = require('os');
const path = require('path');
const C = require('./io_common.js');
const N = C.n(50);

const data = Buffer.from('0123456789abcdef'.repeat(N * 1024 * 1024 / 16));
const file = path.join(os.tmpdir(), `bench-i_fs-${process.pid}`);

C.main(null, async () => {
  try {
    const t0 = C.clock();
    await fsp.writeFile(file, data);
    const back = await fsp.readFile(file);
    const t1 = C.clock();
    return [t0, t1, back.equals(data) ? back.length : `different data, length ${back.length}`];
  } finally {
    fs.rmSync(file, { force: true });
  }
});
