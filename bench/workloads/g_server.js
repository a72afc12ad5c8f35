'use strict';
// The echo server of g and h (a child of their client, see io_common.js):
// every chunk a connection reads is written back as is.
const C = require('./io_common.js');

C.serve((sock) => {
  sock.on('data', (d) => sock.write(d));
  sock.on('end', () => sock.end());
});
