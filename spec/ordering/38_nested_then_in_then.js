const log = (x) => console.log(String(x));
Promise.resolve().then(() => {
  log("outer 1");
  Promise.resolve().then(() => log("nested a")).then(() => log("nested b"));
  Promise.resolve().then(() => log("nested c"));
}).then(() => log("outer 2")).then(() => log("outer 3"));
Promise.resolve().then(() => log("side 1")).then(() => log("side 2"));
