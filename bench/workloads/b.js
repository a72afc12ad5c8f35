'use strict';
// b: one chain of N `then`s on a resolved promise, awaited.
// Timed (inside the async function): building the chain and awaiting its end.
const C = require('./common.js');
const N = C.n(1000000);

(async () => {
  const t0 = C.clock();
  let p = Promise.resolve(0);
  for (let i = 0; i < N; i++) {
    p = p.then((v) => v + 1);
  }
  const last = await p;
  const t1 = C.clock();
  C.report(t0, t1, last);
})().catch((e) => { console.error(e); process.exitCode = 1; });
