'use strict';
// d: N `await`s of plain values in one async function.
// Timed (inside the async function): the loop of awaits.
const C = require('./common.js');
const N = C.n(1000000);

(async () => {
  const t0 = C.clock();
  let sum = 0;
  for (let i = 1; i <= N; i++) {
    sum += await i;
  }
  const t1 = C.clock();
  C.report(t0, t1, sum);
})().catch((e) => { console.error(e); process.exitCode = 1; });
