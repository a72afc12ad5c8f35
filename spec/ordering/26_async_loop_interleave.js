const log = (x) => console.log(String(x));
async function worker(name, n) {
  for (let i = 1; i <= n; i++) {
    log(name + i);
    await null;
  }
  log(name + " done");
}
worker("a", 3);
worker("b", 2);
Promise.resolve().then(() => log("c1")).then(() => log("c2")).then(() => log("c3"));
