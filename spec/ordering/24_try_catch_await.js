const log = (x) => console.log(String(x));
async function f() {
  try {
    log("try start");
    await Promise.reject("boom");
    log("never");
  } catch (e) {
    log("caught " + e);
  }
  try {
    await { then(_, reject) { reject("thenable boom"); } };
  } catch (e) {
    log("caught " + e);
  }
  const v = await Promise.resolve("continues");
  log(v);
  return "ok";
}
f().then((v) => log("f " + v));
Promise.resolve()
  .then(() => log(1))
  .then(() => log(2))
  .then(() => log(3))
  .then(() => log(4))
  .then(() => log(5));
