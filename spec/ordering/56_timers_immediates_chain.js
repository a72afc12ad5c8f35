const log = (x) => console.log(String(x));
setTimeout(() => {
  setImmediate(() => {
    log("i1");
    setImmediate(() => log("i1 child"));
    queueMicrotask(() => log("i1 micro"));
  });
  setImmediate(() => {
    log("i2");
    Promise.resolve().then(() => log("i2 micro"));
  });
  log("timeout done");
}, 1);
