const log = (x) => console.log(String(x));
const sleep = require("timers/promises").setTimeout;
async function worker(name, delays) {
  for (const d of delays) {
    const v = await sleep(d, name + d);
    log(v);
  }
  return name;
}
Promise.all([worker("a", [5, 6]), worker("b", [60, 7])]).then((vs) => log("all " + vs.join(",")));
sleep(0).then(() => log("sleep 0"));
log("sync");
