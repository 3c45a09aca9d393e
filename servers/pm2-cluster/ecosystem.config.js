// PM2 in cluster mode running the same Hello World worker as node-cluster (../node-cluster/worker.js):
// PM2's daemon is the cluster primary and forks LBBENCH_WORKERS instances of it, numbered 0..N-1
// in NODE_APP_INSTANCE. lbbench sets the LBBENCH_* variables (see strategy.toml).
'use strict';
const path = require('node:path');

const env = (name) => {
  const v = process.env[name];
  if (v === undefined) throw new Error(`${name} is not set: start this through lbbench (strategy.toml)`);
  return v;
};

module.exports = {
  apps: [
    {
      name: 'hello',
      script: path.join(__dirname, '..', 'node-cluster', 'worker.js'),
      args: ['--port', env('LBBENCH_PORT'), '--host', env('LBBENCH_HOST')],
      exec_mode: 'cluster',
      instances: Number.parseInt(env('LBBENCH_WORKERS'), 10),
      // Like every other strategy: a worker that dies stays dead and the results show it,
      // rather than PM2 restarting it unseen in the middle of a measurement.
      autorestart: false,
      // On stop PM2 sends each worker SIGINT, and SIGKILL this long after (the workers exit at
      // SIGINT at once; lbbench kills what is left after the same grace anyway).
      kill_timeout: Number.parseInt(env('LBBENCH_STOP_GRACE_MS'), 10),
    },
  ],
};
