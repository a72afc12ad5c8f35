const log = (x) => console.log(String(x));
async function leaf() {
  return "leaf";
}
async function middle() {
  return leaf();
}
async function top() {
  const v = await middle();
  log("top got " + v);
}
top();
Promise.resolve()
  .then(() => log(1))
  .then(() => log(2))
  .then(() => log(3))
  .then(() => log(4))
  .then(() => log(5));
