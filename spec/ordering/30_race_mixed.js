const log = (x) => console.log(String(x));
const pending = new Promise(() => {});
Promise.race([pending, "plain", Promise.resolve("settled")]).then((v) => log("race1 " + v));
Promise.race([Promise.reject("first"), Promise.resolve("second")]).then(null, (e) => log("race2 " + e));
const thenable = { then(r) { r("thenable"); } };
Promise.race([thenable, new Promise((r) => Promise.resolve().then(() => r("delayed")))])
  .then((v) => log("race3 " + v));
const late = new Promise((r) => Promise.resolve().then(() => Promise.resolve()).then(() => r("late")));
Promise.race([pending, late]).then((v) => log("race4 " + v));
Promise.resolve()
  .then(() => log(1))
  .then(() => log(2))
  .then(() => log(3))
  .then(() => log(4))
  .then(() => log(5));
