const log = (x) => console.log(String(x));
async function level3() {
  await null;
  throw "deep";
}
async function level2() {
  await level3();
  log("never 2");
}
async function level1() {
  try {
    await level2();
    log("never 1");
  } catch (e) {
    log("level1 caught " + e);
    return "handled";
  }
}
level1().then((v) => log("level1 " + v));
Promise.resolve()
  .then(() => log(1))
  .then(() => log(2))
  .then(() => log(3))
  .then(() => log(4))
  .then(() => log(5));
