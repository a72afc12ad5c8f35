const log = (x) => console.log(String(x));
Promise.resolve()
  .then(async () => {
    log("async handler");
    await null;
    log("async handler resumed");
    return "h";
  })
  .then((v) => log("after async handler " + v));
Promise.resolve()
  .then(() => log(1))
  .then(() => log(2))
  .then(() => log(3))
  .then(() => log(4))
  .then(() => log(5));
