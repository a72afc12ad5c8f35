const log = (x) => console.log(String(x));
const later = new Promise((r) => Promise.resolve().then(() => { log("later resolves"); r("L"); }));
const thenable = { then(r) { log("thenable called"); r("T"); } };
Promise.all([1, Promise.resolve(2), later, thenable, "five"]).then((vs) => log("all " + vs.join(",")));
Promise.resolve()
  .then(() => log(1))
  .then(() => log(2))
  .then(() => log(3))
  .then(() => log(4));
log("sync end");
