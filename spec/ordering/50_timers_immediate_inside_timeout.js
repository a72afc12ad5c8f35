const log = (x) => console.log(String(x));
setTimeout(() => {
  log("timeout");
  setTimeout(() => log("inner timeout 0"), 0);
  setImmediate(() => {
    log("immediate 1");
    Promise.resolve().then(() => log("immediate 1 micro"));
  });
  setImmediate((v) => log("immediate 2 " + v), "arg");
  Promise.resolve().then(() => log("timeout micro"));
}, 0);
