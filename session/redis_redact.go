package session

import (
	"context"

	"github.com/portcullis/portcullis/internal/redact"
	"github.com/redis/go-redis/v9"
)

// withoutPassword makes every error of client's calls free of password,
// whole or any run of redact.MinRun bytes of it. go-redis puts Redis's
// error reply in its errors as it came, and Redis quotes the arguments of
// a command it does not know ("unknown command 'AUTH', with args beginning
// with: 'gateway' '<password>'"): a server with HELLO and AUTH renamed
// away, or a proxy in front of it that echoes, put the password in every
// error, hence in the log, in /readyz's log line and in `portcullis
// check`. Keys and values need no such care: keys hold hashes and values
// are sealed.
func withoutPassword[C redis.UniversalClient](client C, password string) C {
	if password != "" {
		client.AddHook(passwordRedacted{password})
	}
	return client
}

// passwordRedacted is the go-redis hook of withoutPassword. A command's
// error is its own (cmd.Err, which Result returns), so it is replaced there
// as well as in what the call returns. An error that does not quote the
// password is left as it is: callers compare with redis.Nil.
type passwordRedacted struct{ password string }

func (passwordRedacted) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h passwordRedacted) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if cmd.Err() != nil {
			cmd.SetErr(h.redacted(cmd.Err()))
		}
		return h.redacted(err)
	}
}

func (h passwordRedacted) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if err == nil {
			return nil // every command succeeded: no error to look at
		}
		for _, cmd := range cmds {
			if cmd.Err() != nil {
				cmd.SetErr(h.redacted(cmd.Err()))
			}
		}
		return h.redacted(err)
	}
}

func (h passwordRedacted) redacted(err error) error {
	if err == nil {
		return nil
	}
	text := err.Error()
	if r := redact.Secret(text, h.password); r != text {
		return &redactedError{text: r, err: err}
	}
	return err
}

// redactedError is an error with the password taken out of its text; it
// unwraps to the original, so errors.As still finds Redis's reply
// (RedisRefusal reads only its code).
type redactedError struct {
	text string
	err  error
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }
