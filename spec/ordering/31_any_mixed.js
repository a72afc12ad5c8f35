const log = (x) => console.log(String(x));
Promise.any([Promise.reject("a"), Promise.resolve("b"), "c"]).then((v) => log("any1 " + v));
Promise.any([Promise.reject("x"), { then(_, rej) { rej("y"); } }, Promise.reject("z")]).catch((e) => {
  log("any2 " + e.name);
  log("errors " + e.errors.join(","));
});
Promise.any([]).catch((e) => log("any3 " + e.name + " " + e.errors.length));
const slow = new Promise((r) => Promise.resolve().then(() => r("slow")));
Promise.any([Promise.reject("fail"), slow]).then((v) => log("any4 " + v));
Promise.resolve()
  .then(() => log(1))
  .then(() => log(2))
  .then(() => log(3))
  .then(() => log(4));
