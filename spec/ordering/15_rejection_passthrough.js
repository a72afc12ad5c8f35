const log = (x) => console.log(String(x));
Promise.reject("e")
  .then(() => log("never 1"))
  .then(() => log("never 2"))
  .then(() => log("never 3"))
  .catch((e) => { log("caught " + e); return "recovered"; })
  .then((v) => log(v));
Promise.resolve()
  .then(() => log(1))
  .then(() => log(2))
  .then(() => log(3))
  .then(() => log(4))
  .then(() => log(5))
  .then(() => log(6));
