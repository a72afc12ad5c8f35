const log = (x) => console.log(String(x));
Promise.resolve(5)
  .then(null)
  .then(123)
  .then((v) => log("value " + v));
Promise.reject("r")
  .then((v) => v, null)
  .then(null, "not a function")
  .then(null, (e) => log("reason " + e));
Promise.resolve().then(() => log(1)).then(() => log(2)).then(() => log(3)).then(() => log(4));
