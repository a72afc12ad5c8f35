const log = (x) => console.log(String(x));
// From the seed document (Q5, complex example):
// Start, End, After await, Done, Timeout 1, Timeout 2
async function demonstrateEventLoop() {
  log("Start");
  setTimeout(() => log("Timeout 1"), 0);
  await Promise.resolve();
  log("After await");
  setTimeout(() => log("Timeout 2"), 0);
  return "Done";
}
demonstrateEventLoop().then((result) => log(result));
log("End");
