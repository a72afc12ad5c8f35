const log = (x) => console.log(String(x));
async function f() {
  log("f start");
  const a = await 1;
  log("f after await " + a);
  const b = await "two";
  log("f after await " + b);
  return a;
}
f().then((v) => log("f done " + v));
Promise.resolve()
  .then(() => log("c1"))
  .then(() => log("c2"))
  .then(() => log("c3"))
  .then(() => log("c4"));
log("sync end");
