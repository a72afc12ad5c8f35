'use strict';
// i_net: N MiB (20) through one socket. The client writes them in 64 KiB
// chunks, honouring write()'s return value ('drain'), then ends its side;
// the sink server in a separate process (i_server.js) reads to the end and
// answers the byte count. Untimed: starting the server, connecting. Timed:
// the writes until the count is read. Check: that count.
const { once } = require('events');
const C = require('./io_common.js');
const N = C.n(20);
const CHUNK = 64 * 1024;

const chunk = Buffer.from('0123456789abcdef'.repeat(CHUNK / 16));

C.main('i_server', async (port) => {
  const sock = await C.connect(port);
  const reader = C.lineReader(sock);
  const t0 = C.clock();
  for (let i = 0; i < N * 1024 * 1024 / CHUNK; i++) {
    if (!sock.write(chunk)) await once(sock, 'drain');
  }
  sock.end();
  const count = Number(await reader.next());
  const t1 = C.clock();
  sock.destroy();
  return [t0, t1, count];
});
