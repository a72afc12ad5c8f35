'use strict';
// e: N pending promises each with one `then` handler, then all resolved.
// Timed: creating the promises and handlers, resolving them all, and the
// microtask checkpoint that runs every handler.
const C = require('./common.js');
const N = C.n(1000000);

const resolvers = [];
let sum = 0;
const t0 = C.clock();
for (let i = 1; i <= N; i++) {
  new Promise((r) => { resolvers[i] = r; })
    .then((v) => { sum += v; });
}
for (let i = 1; i <= N; i++) {
  resolvers[i](i);
}
setImmediate(() => C.report(t0, C.clock(), sum));
