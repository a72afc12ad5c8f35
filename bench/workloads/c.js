'use strict';
// c: `Promise.all` over N resolved promises (the driver passes N/10, i.e.
// 100,000 by default). The list is built before the clock starts; timed: the
// `all` call and the microtask checkpoint that fulfils it.
const C = require('./common.js');
const N = C.n(100000);

const list = [];
for (let i = 1; i <= N; i++) list.push(Promise.resolve(i));

let result;
const t0 = C.clock();
Promise.all(list).then((values) => { result = values; });
setImmediate(() => {
  const t1 = C.clock();
  if (!result || result.length !== N) throw new Error('Promise.all did not fulfil with n values');
  let sum = 0;
  for (let i = 0; i < N; i++) sum += result[i];
  C.report(t0, t1, sum);
});
