const log = (x) => console.log(String(x));
async function f() {
  const v = await Promise.resolve("resolved");
  log("after await " + v);
  const w = await new Promise((r) => r(Promise.resolve("nested")));
  log("after await " + w);
}
f();
Promise.resolve()
  .then(() => log(1))
  .then(() => log(2))
  .then(() => log(3))
  .then(() => log(4))
  .then(() => log(5))
  .then(() => log(6));
