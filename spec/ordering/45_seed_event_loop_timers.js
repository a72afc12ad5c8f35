const log = (x) => console.log(String(x));
// From the seed document (Q5): output 1, 5, 3, 4, 2
log("1: Synchronous");
setTimeout(() => log("2: Macrotask"), 0);
Promise.resolve().then(() => log("3: Microtask"));
queueMicrotask(() => log("4: Microtask"));
log("5: Synchronous");
