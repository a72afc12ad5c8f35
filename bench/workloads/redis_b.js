'use strict';
// redis b: N sequential GETs, each awaited before the next (ioredis).
const C = require('./common.js');
const Redis = require('ioredis');
const N = C.n(20000), PORT = Number(process.argv[3]);

(async () => {
  const c = new Redis({ host: '127.0.0.1', port: PORT, lazyConnect: true });
  await c.connect();
  await c.set('bench:b', 'value');
  let good = 0;
  const t0 = C.clock();
  for (let i = 0; i < N; i++) {
    if (await c.get('bench:b') === 'value') good++;
  }
  const t1 = C.clock();
  await c.quit();
  C.report(t0, t1, good);
})().catch((e) => { console.error(e); process.exit(1); });
