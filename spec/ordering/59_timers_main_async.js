const log = (x) => console.log(String(x));
const sleep = require("timers/promises").setTimeout;
// the Lua twin is the chunk itself, which Promise.run runs as an async function
(async () => {
  log("main start");
  setTimeout(() => log("timer 5"), 5);
  const v = await sleep(10, "slept");
  log(v);
  Promise.resolve().then(() => log("micro after sleep"));
  await null;
  log("after await null");
  setImmediate(() => log("immediate"));
  await sleep(1);
  log("main end");
})();
