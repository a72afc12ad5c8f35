const log = (x) => console.log(String(x));
const thenable = { then(_, rej) { rej("T-bad"); } };
const delayed = new Promise((r) => Promise.resolve().then(() => r("D")));
Promise.allSettled([Promise.reject("bad"), 1, thenable, delayed, Promise.resolve("ok")]).then((rs) => {
  for (const r of rs) {
    log(r.status + " " + (r.status === "fulfilled" ? r.value : r.reason));
  }
});
Promise.allSettled([]).then((rs) => log("empty " + rs.length));
Promise.resolve()
  .then(() => log(1))
  .then(() => log(2))
  .then(() => log(3))
  .then(() => log(4));
