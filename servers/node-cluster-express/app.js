// The Express version of the worker, as the seed article writes it: an Express app routing
// GET / to a handler that sends the text, with Express's defaults (ETag, X-Powered-By) left on,
// so what it costs over the plain worker is what an Express user pays. Loaded by
// ../node-cluster/worker.js --app.
'use strict';
const express = require('express');

module.exports = (id, body) => {
  const app = express();
  app.get('/', (req, res) => {
    res.set('X-Worker', id).type('text/plain').send(body);
  });
  return app;
};
