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
      // PM2's default: a worker that dies is restarted (the requests it had still fail, and the
      // results show them).
      autorestart: true,
      // On stop and on `pm2 reload` PM2 sends a worker SIGINT (it finishes its connections and
      // exits), and SIGKILL this long after.
      kill_timeout: Number.parseInt(env('LBBENCH_STOP_GRACE_MS'), 10),
    },
  ],
};
