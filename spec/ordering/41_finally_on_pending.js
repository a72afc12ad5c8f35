const log = (x) => console.log(String(x));
let resolveIt;
const p = new Promise((r) => { resolveIt = r; });
p.finally(() => log("finally a")).then((v) => log("a " + v));
p.finally(null).then((v) => log("b " + v));
p.then((v) => log("c " + v));
Promise.resolve()
  .then(() => { log("resolving"); resolveIt("val"); })
  .then(() => log(1))
  .then(() => log(2))
  .then(() => log(3))
  .then(() => log(4));
