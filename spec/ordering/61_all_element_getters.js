const log = (x) => console.log(String(x));
// reading the elements queues microtasks between the elements' own jobs
const arr = [];
for (let i = 0; i < 4; i++) {
  Object.defineProperty(arr, i, {
    get() { queueMicrotask(() => log("micro " + i)); return i === 2 ? i : Promise.resolve(i); },
    enumerable: true,
  });
}
Promise.all(arr).then((vs) => log("all " + vs.join(",")));
Promise.resolve().then(() => log("after 1")).then(() => log("after 2"));
log("sync end");
