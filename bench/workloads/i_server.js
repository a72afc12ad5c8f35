'use strict';
// The sink server of i_net (a child of its client, see io_common.js): reads
// a connection to its end, then writes back the number of bytes and "\n".
const C = require('./io_common.js');

C.serve((sock) => {
  let count = 0;
  sock.on('data', (d) => { count += d.length; });
  sock.on('end', () => sock.end(`${count}\n`));
});
