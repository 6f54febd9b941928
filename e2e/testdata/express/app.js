// An Express application as its documentation sets one up: body-parser's
// extended (qs) forms and method-override, from the query (`_method`) and
// from the body (method-override's README getter). Each answer says what
// Express believes: the method it dispatched on, its path, its parsed query
// and body. Usage: node app.js PORT
'use strict';
const express = require('express');
const methodOverride = require('method-override');

const app = express();
app.use(express.urlencoded({ extended: true }));
app.use(express.json());
app.use(methodOverride(function (req) {
  if (req.body && typeof req.body === 'object' && '_method' in req.body) {
    const method = req.body._method;
    delete req.body._method;
    return method;
  }
}));
app.use(methodOverride('_method'));
app.all('*', function (req, res) {
  res.json({ method: req.method, path: req.path, query: req.query, body: req.body });
});
app.listen(Number(process.argv[2]), '127.0.0.1');
