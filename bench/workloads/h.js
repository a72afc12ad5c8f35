'use strict';
// h: pipelined lines. N (1000) connections each write L (1000) lines of 16
// bytes in one write and read the echoes one awaited line at a time (the
// line reader of io_common.js: 'data', buffer-and-split, a promise per
// line, as `sock:readLine()` in h.lua), from the echo server of g in a
// separate process (g_server.js). Untimed: starting the server,
// connecting. Timed: the writes and reading every echo. Check: the lines
// received equal to those sent. h_split.js reads the same lines without a
// promise per line.
const C = require('./io_common.js');
const N = C.n(1000);
const L = C.n2(1000);

const [lines, payload] = C.lines(L);

C.main('g_server', async (port) => {
  let good = 0;
  const [t0, t1] = await C.clients(port, N, async (sock) => {
    const rl = C.lineReader(sock);
    sock.write(payload);
    for (let i = 0; i < L; i++) {
      if ((await rl.next()) === lines[i]) good += 1;
    }
  });
  return [t0, t1, good];
});
