const log = (x) => console.log(String(x));
async function async1() {
  log("async1 start");
  await async2();
  log("async1 end");
}
async function async2() {
  log("async2");
}
log("script start");
async1();
new Promise((resolve) => {
  log("promise1");
  resolve();
}).then(() => log("promise2")).then(() => log("promise3"));
log("script end");
