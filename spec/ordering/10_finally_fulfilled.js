const log = (x) => console.log(String(x));
Promise.resolve("v")
  .finally(() => { log("finally"); return "ignored"; })
  .then((v) => log("after finally " + v));
Promise.resolve()
  .then(() => log(1))
  .then(() => log(2))
  .then(() => log(3))
  .then(() => log(4))
  .then(() => log(5));
