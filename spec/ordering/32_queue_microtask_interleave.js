const log = (x) => console.log(String(x));
queueMicrotask(() => log("qm1"));
Promise.resolve().then(() => {
  log("then1");
  queueMicrotask(() => log("qm from then1"));
}).then(() => log("then2"));
queueMicrotask(() => {
  log("qm2");
  Promise.resolve().then(() => log("then from qm2"));
  queueMicrotask(() => log("qm from qm2"));
});
log("sync");
