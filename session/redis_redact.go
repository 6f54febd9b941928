package session

import (
	"github.com/portcullis/portcullis/internal/redact"
	"github.com/redis/go-redis/v9"
)

// redactedErrors returns err, and sets each command's own error (cmd.Err,
// which Result returns), with the password, whole or any run of
// redact.MinRun bytes of it, taken out of the text. go-redis puts Redis's
// error reply in its errors as it came, and Redis quotes the arguments of
// a command it does not know ("unknown command 'AUTH', with args beginning
// with: 'gateway' '<password>'"): a server with HELLO and AUTH renamed
// away, or a proxy in front of it that echoes, put the password in every
// error, hence in the log, in /readyz's log line and in `portcullis
// check`. Keys and values need no such care: keys hold hashes and values
// are sealed. An error that does not quote the password is left as it
// is: callers compare with redis.Nil.
func (h callBound) redactedErrors(err error, cmds ...redis.Cmder) error {
	for _, cmd := range cmds {
		if cmd.Err() != nil {
			cmd.SetErr(h.redacted(cmd.Err()))
		}
	}
	return h.redacted(err)
}

func (h callBound) redacted(err error) error {
	if err == nil || h.password == "" {
		return err
	}
	// Still unwraps to Redis's reply (RedisRefusal reads only its code).
	return redact.Error(err, err.Error(), h.password)
}
