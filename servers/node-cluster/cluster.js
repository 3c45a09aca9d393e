// The program lbbench descends from: Node's cluster module forks N workers (worker.js) that each
// run http.createServer on one shared port. The primary spreads connections by
// NODE_CLUSTER_SCHED_POLICY: "rr" (it accepts and hands each connection to the next worker) or
// "none" (workers accept on the shared listening handle themselves).
//
// Usage: node cluster.js --workers N --port P [--host H] [--app MODULE]
// (the workers get the same arguments; see worker.js for --app).
'use strict';
const cluster = require('node:cluster');
const path = require('node:path');

const i = process.argv.indexOf('--workers');
const workers = Number.parseInt(i > 0 ? process.argv[i + 1] : '2', 10);
if (!(workers >= 1)) {
  console.error('usage: node cluster.js --workers N --port P [--host H] [--app MODULE]');
  process.exit(2);
}

cluster.setupPrimary({ exec: path.join(__dirname, 'worker.js') });
let stopping = false;
for (let k = 0; k < workers; k++) cluster.fork({ WORKER_ID: String(k) });
// Like the Rust strategies: a worker dying is a failure, not something to paper over.
cluster.on('exit', (worker, code, signal) => {
  if (stopping) return;
  console.error(`worker ${worker.process.pid} exited (${signal || code}); stopping`);
  stopping = true;
  for (const w of Object.values(cluster.workers)) w.process.kill('SIGTERM');
  process.exit(1);
});
const stop = () => {
  stopping = true;
  for (const w of Object.values(cluster.workers)) w.process.kill('SIGTERM');
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
