'use strict';
// Memory per pending promise with one handler, as mem.lua measures it, from
// process.memoryUsage().heapUsed deltas after full collections (run with
// `node --expose-gc`). Prints
// `bytes=<without resolve> bytes_resolve=<with resolve> check=<sum>`.
const C = require('./common.js');
const N = C.n(100000);

if (typeof global.gc !== 'function') throw new Error('run with node --expose-gc');

function fullGc() {
  global.gc();
  global.gc();
}

// Everything measured stays reachable from here until the end. (Arrays only
// held by a function's locals may be collected after their last use: V8's
// liveness analysis.)
const kept = [];
// The executor stores its resolve function here, rather than in a local of
// the loop body: V8 closures keep their whole enclosing context, so a local
// `resolve` would be kept alive by the handler too. (Lua captures only the
// upvalues a closure uses; mem.lua does the same for symmetry.)
let lastResolve;

function measure(keepResolve) {
  const promises = new Array(N).fill(false);
  const derived = new Array(N).fill(false);
  const resolvers = new Array(N).fill(false);
  kept.push(promises, derived, resolvers);
  fullGc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < N; i++) {
    const p = new Promise((r) => { lastResolve = r; });
    derived[i] = p.then((v) => v);
    promises[i] = p;
    if (keepResolve) resolvers[i] = lastResolve;
  }
  lastResolve = undefined;
  fullGc();
  const after = process.memoryUsage().heapUsed;
  return { bytes: (after - before) / N, derived, resolvers };
}

const without = measure(false).bytes;
fullGc();
const { bytes: withResolve, derived, resolvers } = measure(true);

for (let i = 0; i < N; i++) resolvers[i](i + 1);
let sum = 0;
let pending = N;
for (let i = 0; i < N; i++) {
  derived[i].then((v) => {
    sum += v;
    pending -= 1;
    if (pending === 0) {
      process.stdout.write(`bytes=${without.toFixed(1)} bytes_resolve=${withResolve.toFixed(1)} check=${sum}\n`);
    }
  });
}
