const log = (x) => console.log(String(x));
setTimeout(() => log("A (sync, 5)"), 5);
Promise.resolve().then(() => {
  setTimeout(() => log("B (micro, 5)"), 5);
  return Promise.resolve();
}).then(() => {
  setTimeout(() => log("C (micro later, 5)"), 5);
});
setTimeout(() => {
  log("D (sync, 5)");
  setTimeout(() => log("E (from D, 0)"), 0);
  Promise.resolve().then(() => setTimeout(() => log("F (micro in D, 0)"), 0));
}, 5);
