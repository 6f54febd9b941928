package redact

// Error returns err shown as text (its Error, or a cut of it) with every
// run of vs taken out (Secrets); it still unwraps to err, so errors.Is and
// errors.As see the original (a Redis reply's code, a context's deadline).
// err itself, uncut, when there is nothing to take out.
func Error(err error, text string, vs ...string) error {
	if err == nil {
		return nil
	}
	if r := Secrets(text, vs...); r != text {
		return &redactedError{text: r, err: err}
	}
	return err
}

// redactedError is an error shown without what Error took out.
type redactedError struct {
	text string
	err  error
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }
