// A Koa application as koa-bodyparser's README sets one up: its forms
// are parsed by co-body with qs, whose allowDots co-body turns on. Each
// answer says what Koa believes: the method, its path and its parsed
// body. Usage: node app.js PORT
'use strict';
const Koa = require('koa');
const bodyParser = require('koa-bodyparser');

const app = new Koa();
app.use(bodyParser());
app.use(function (ctx) {
  ctx.body = { method: ctx.method, path: ctx.path, params: ctx.request.body };
});
app.listen(Number(process.argv[2]), '127.0.0.1');
