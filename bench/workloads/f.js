'use strict';
// f: N `setTimeout(fn, 0)` callbacks, each resolving a promise whose `then`
// handler adds the value; the last one resolves the promise that the main
// async function awaits. Timed (inside it): scheduling, firing, settling.
const C = require('./common.js');
const N = C.n(1000000);

(async () => {
  const t0 = C.clock();
  let sum = 0;
  let count = 0;
  let finish;
  const done = new Promise((r) => { finish = r; });
  for (let i = 1; i <= N; i++) {
    new Promise((resolve) => {
      setTimeout(() => resolve(i), 0);
    }).then((v) => {
      sum += v;
      count += 1;
      if (count === N) finish(sum);
    });
  }
  const total = await done;
  const t1 = C.clock();
  C.report(t0, t1, total);
})().catch((e) => { console.error(e); process.exitCode = 1; });
