const log = (x) => console.log(String(x));
setTimeout(() => {
  log("t1");
  Promise.resolve().then(() => log("t1 micro a")).then(() => log("t1 micro b"));
  queueMicrotask(() => log("t1 queued"));
}, 5);
setTimeout(() => {
  log("t2");
  Promise.resolve().then(() => log("t2 micro"));
}, 5);
setTimeout(() => log("t3"), 5);
