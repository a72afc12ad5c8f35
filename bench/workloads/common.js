'use strict';
// Shared by the JavaScript workloads: argument, wall clock, report.
// Each workload is run as `node bench/workloads/<name>.js N` and prints one
// line `elapsed=<seconds> check=<value> maxrss_kb=<peak RSS>`.

function n(def) {
  const s = process.argv[2];
  if (s === undefined) return def;
  const v = Number(s);
  if (!Number.isInteger(v) || v < 1) {
    throw new TypeError(`positive integer expected, got ${s}`);
  }
  return v;
}

function clock() {
  return process.hrtime.bigint();
}

function report(t0, t1, check) {
  const elapsed = Number(t1 - t0) / 1e9;
  const rss = process.resourceUsage().maxRSS;  // kilobytes, like getrusage
  process.stdout.write(`elapsed=${elapsed.toFixed(9)} check=${check} maxrss_kb=${rss}\n`);
}

module.exports = { n, clock, report };
