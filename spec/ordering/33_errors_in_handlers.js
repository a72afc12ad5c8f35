const log = (x) => console.log(String(x));
Promise.resolve(1)
  .then((v) => { log("handler " + v); throw "oops"; })
  .then(() => log("skipped"))
  .catch((e) => { log("caught " + e); throw "again"; })
  .catch((e) => { log("caught " + e); return "fine"; })
  .then((v) => log("end " + v));
Promise.reject("r")
  .then(null, (e) => { log("onRejected " + e); throw "rethrown"; })
  .then(null, (e) => log("next onRejected " + e));
Promise.resolve().then(() => log(1)).then(() => log(2)).then(() => log(3)).then(() => log(4));
