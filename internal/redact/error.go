package redact

// Error returns err shown as text (its Error, or a cut or printable
// spelling of it) with every run of vs taken out (Secrets); it still
// unwraps to err, so errors.Is and errors.As see the original (a Redis
// reply's code, a context's deadline). err itself when what is left is
// err's own text.
func Error(err error, text string, vs ...string) error {
	if err == nil {
		return nil
	}
	if r := Secrets(text, vs...); r != err.Error() {
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
