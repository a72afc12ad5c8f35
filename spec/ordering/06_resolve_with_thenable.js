const log = (x) => console.log(String(x));
const thenable = {
  then(resolve) {
    log("then called");
    resolve("t");
  },
};
const p = new Promise((resolve) => {
  resolve(thenable);
  log("after resolve");
});
p.then((v) => log("p " + v));
Promise.resolve()
  .then(() => log(1))
  .then(() => log(2))
  .then(() => log(3));
log("sync end");
