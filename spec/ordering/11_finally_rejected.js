const log = (x) => console.log(String(x));
Promise.reject("r")
  .finally(() => log("finally"))
  .catch((e) => log("caught " + e));
Promise.resolve()
  .then(() => log(1))
  .then(() => log(2))
  .then(() => log(3))
  .then(() => log(4))
  .then(() => log(5));
