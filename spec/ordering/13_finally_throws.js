const log = (x) => console.log(String(x));
Promise.resolve("v")
  .finally(() => { log("finally 1"); throw "from finally"; })
  .then((v) => log("not " + v), (e) => log("rejected " + e));
Promise.reject("first")
  .finally(() => { log("finally 2"); throw "second"; })
  .catch((e) => log("caught " + e));
Promise.resolve()
  .then(() => log(1))
  .then(() => log(2))
  .then(() => log(3));
