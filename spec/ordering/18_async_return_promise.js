const log = (x) => console.log(String(x));
async function returnsPromise() {
  return Promise.resolve("p");
}
async function returnsValue() {
  return "v";
}
returnsPromise().then((v) => log("returnsPromise " + v));
returnsValue().then((v) => log("returnsValue " + v));
Promise.resolve()
  .then(() => log(1))
  .then(() => log(2))
  .then(() => log(3))
  .then(() => log(4));
