'use strict';
// redis a: N commands, SET then GET of its own key, from 100 async
// functions that each await every reply (ioredis, its defaults).
const C = require('./common.js');
const Redis = require('ioredis');
const N = C.n(100000), PORT = Number(process.argv[3]), W = 100;

(async () => {
  const c = new Redis({ host: '127.0.0.1', port: PORT, lazyConnect: true });
  await c.connect();
  const pairs = Math.floor(N / (2 * W));
  let good = 0;
  async function worker(w) {
    for (let i = 1; i <= pairs; i++) {
      const k = `bench:a:${w}:${i}`;
      if (await c.set(k, k) === 'OK') good++;
      if (await c.get(k) === k) good++;
    }
  }
  const t0 = C.clock();
  const ps = [];
  for (let w = 1; w <= W; w++) ps.push(worker(w));
  await Promise.all(ps);
  const t1 = C.clock();
  await c.quit();
  C.report(t0, t1, good);
})().catch((e) => { console.error(e); process.exit(1); });
