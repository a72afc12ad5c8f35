const log = (x) => console.log(String(x));
Promise.resolve()
  .then(() => { log("a1"); return Promise.resolve("x"); })
  .then((v) => log("a2 " + v));
Promise.resolve()
  .then(() => log("b1"))
  .then(() => log("b2"))
  .then(() => log("b3"))
  .then(() => log("b4"))
  .then(() => log("b5"));
