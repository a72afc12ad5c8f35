const log = (x) => console.log(String(x));
Promise.resolve("kept")
  .finally(() => {
    log("finally");
    return new Promise((r) => Promise.resolve().then(() => { log("inner settles"); r("dropped"); }));
  })
  .then((v) => log("value " + v));
Promise.reject("orig")
  .finally(() => Promise.reject("replaced"))
  .catch((e) => log("reason " + e));
Promise.resolve()
  .then(() => log(1))
  .then(() => log(2))
  .then(() => log(3))
  .then(() => log(4))
  .then(() => log(5))
  .then(() => log(6));
