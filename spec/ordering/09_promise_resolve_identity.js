const log = (x) => console.log(String(x));
const p = Promise.resolve(42);
log(Promise.resolve(p) === p);
const pending = new Promise(() => {});
log(Promise.resolve(pending) === pending);
const thenable = { then(r) { r(7); } };
log(Promise.resolve(thenable) === thenable);
// Promise.resolve(p) adds no tick; new Promise(r => r(p)) adds two.
Promise.resolve(p).then((v) => log("resolve(p) " + v));
new Promise((r) => r(p)).then((v) => log("new(p) " + v));
p.then((v) => log("direct " + v));
Promise.resolve().then(() => log(1)).then(() => log(2)).then(() => log(3));
