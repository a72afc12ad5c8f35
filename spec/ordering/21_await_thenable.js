const log = (x) => console.log(String(x));
const thenable = {
  then(resolve) {
    log("thenable.then called");
    resolve("from thenable");
  },
};
async function f() {
  log("f start");
  const v = await thenable;
  log("after await " + v);
}
f();
Promise.resolve()
  .then(() => log(1))
  .then(() => log(2))
  .then(() => log(3))
  .then(() => log(4));
log("sync end");
