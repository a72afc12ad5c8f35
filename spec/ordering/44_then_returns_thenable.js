const log = (x) => console.log(String(x));
Promise.resolve()
  .then(() => ({ then(r) { log("thenable called"); r("t"); } }))
  .then((v) => log("a " + v));
Promise.resolve()
  .then(() => ({ then: "not a function", v: 1 }))
  .then((v) => log("b plain object " + v.v));
Promise.resolve()
  .then(() => log(1))
  .then(() => log(2))
  .then(() => log(3))
  .then(() => log(4));
