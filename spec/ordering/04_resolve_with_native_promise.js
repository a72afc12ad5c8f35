const log = (x) => console.log(String(x));
const inner = Promise.resolve("inner");
const outer = new Promise((resolve) => resolve(inner));
outer.then((v) => log("outer " + v));
Promise.resolve()
  .then(() => log(1))
  .then(() => log(2))
  .then(() => log(3))
  .then(() => log(4));
