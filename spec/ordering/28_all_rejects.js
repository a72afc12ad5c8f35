const log = (x) => console.log(String(x));
const slowReject = new Promise((_, rej) => Promise.resolve().then(() => Promise.resolve()).then(() => rej("slow")));
Promise.all([Promise.resolve(1), new Promise(() => {}), Promise.reject("fast"), slowReject])
  .then((vs) => log("never " + vs), (e) => log("all rejected " + e));
slowReject.catch(() => log("slow handled"));
Promise.all([]).then((vs) => log("empty all length " + vs.length));
Promise.resolve()
  .then(() => log(1))
  .then(() => log(2))
  .then(() => log(3))
  .then(() => log(4))
  .then(() => log(5));
