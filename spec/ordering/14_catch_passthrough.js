const log = (x) => console.log(String(x));
Promise.resolve("ok")
  .catch(() => log("never"))
  .catch(() => log("never"))
  .then((v) => log("a " + v));
Promise.resolve("ok").then((v) => log("b " + v));
Promise.resolve()
  .then(() => log(1))
  .then(() => log(2))
  .then(() => log(3))
  .then(() => log(4));
