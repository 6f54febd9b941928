# A Rack application behind the gateway (e2e/rack_test.go), with
# Rack::MethodOverride as Rails and Sinatra use it. Each answer says what
# Rack believes: the method it dispatches on, its path and Rack::Request's
# params (query and form, bracketed names nested as Rack nests them).
require 'json'
use Rack::MethodOverride
run lambda { |env|
  req = Rack::Request.new(env)
  body = JSON.generate(method: env['REQUEST_METHOD'], path: env['PATH_INFO'], params: req.params)
  [200, { 'Content-Type' => 'application/json' }, [body]]
}
