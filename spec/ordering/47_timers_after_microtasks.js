const log = (x) => console.log(String(x));
setTimeout(() => log("timeout"), 0);
let n = 0;
const spin = () => {
  n++;
  if (n <= 5) {
    log("micro " + n);
    Promise.resolve().then(spin);
  }
};
Promise.resolve().then(spin);
queueMicrotask(() => log("queued"));
log("sync");
