'use strict';
// a: N times `new Promise(r => r(i)).then(v => ...)`, then drain. Timed: the
// creations and the microtask checkpoint that runs every handler (the end is
// taken in a setImmediate callback, which runs once the queue is empty).
const C = require('./common.js');
const N = C.n(1000000);

let sum = 0;
const t0 = C.clock();
for (let i = 1; i <= N; i++) {
  new Promise((r) => r(i)).then((v) => { sum += v; });
}
setImmediate(() => C.report(t0, C.clock(), sum));
