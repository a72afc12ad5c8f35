'use strict';
// redis c: a 1 MB value written and read back N times (ioredis).
const C = require('./common.js');
const Redis = require('ioredis');
const N = C.n(200), PORT = Number(process.argv[3]);

(async () => {
  const c = new Redis({ host: '127.0.0.1', port: PORT, lazyConnect: true });
  await c.connect();
  const big = '0123456789abcdef'.repeat(65536);
  let good = 0;
  const t0 = C.clock();
  for (let i = 0; i < N; i++) {
    await c.set('bench:c', big);
    if (await c.get('bench:c') === big) good++;
  }
  const t1 = C.clock();
  await c.quit();
  C.report(t0, t1, good);
})().catch((e) => { console.error(e); process.exit(1); });
