// Package panicerr turns a panic in work the gateway runs outside a
// request's own goroutine into that work's error.
//
// net/http recovers a panic in a handler, and ends only that request. Work
// that a request starts in a goroutine of its own (a JWKS fetch or a token
// introspection shared by every request waiting for it, the watcher of an
// upgraded connection, provider discovery) has no such net: a panic there,
// a library's bug on a hostile provider's answer say, ended the process
// and every user's requests with it. Such work defers Recover, so that the
// panic fails that work alone, closed. So does work other requests wait
// for that runs in one request's goroutine (the Google directory's
// service-account grant): the server's recovery ends that request, but
// the work would be left in flight, never done, for every other one.
package panicerr

import "fmt"

// Recover, deferred directly, sets *err to an error naming what and the
// panic's value when the deferring function panics, and stops the panic.
func Recover(err *error, what string) {
	if v := recover(); v != nil {
		*err = fmt.Errorf("%s: panic: %v", what, v)
	}
}
