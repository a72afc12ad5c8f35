const log = (x) => console.log(String(x));
async function inner() {
  log("inner start");
  await null;
  log("inner after await");
  return "inner result";
}
async function outer() {
  log("outer start");
  const v = await inner();
  log("outer got " + v);
  return "outer result";
}
outer().then((v) => log("done " + v));
Promise.resolve()
  .then(() => log(1))
  .then(() => log(2))
  .then(() => log(3))
  .then(() => log(4));
log("sync end");
