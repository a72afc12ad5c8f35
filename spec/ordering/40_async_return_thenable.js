const log = (x) => console.log(String(x));
async function f() {
  return { then(r) { log("thenable called"); r("T"); } };
}
async function g() {
  return new Promise((r) => r("P"));
}
f().then((v) => log("f " + v));
g().then((v) => log("g " + v));
Promise.resolve()
  .then(() => log(1))
  .then(() => log(2))
  .then(() => log(3))
  .then(() => log(4));
