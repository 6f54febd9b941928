package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/portcullis/portcullis/config"
	"github.com/portcullis/portcullis/session"
)

const sessionsUsage = `usage: portcullis sessions list --config FILE [--sub SUB]
       portcullis sessions revoke --config FILE (--sub SUB | --id ID | --all)

Lists or ends the server-side sessions of the redis session store.
"portcullis sessions list --help" and "portcullis sessions revoke --help" show the flags.`

// runSessions is `portcullis sessions list|revoke` against the Redis store.
func runSessions(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprintln(stdout, sessionsUsage)
		return nil
	}
	if len(args) == 0 || (args[0] != "list" && args[0] != "revoke") {
		return usageError("%s", sessionsUsage)
	}
	verb := args[0]
	f := newSessionsFlags(verb)
	if err := f.fs.parse(args[1:], stdout, stderr); err != nil {
		return err
	}
	// A selector given empty (--sub "$SUB" with SUB unset) would otherwise
	// read as not given: list would show everyone's sessions.
	if empty := emptySelector(f.fs); empty != "" {
		return usageError("sessions %s: --%s is empty", verb, empty)
	}
	cfg, err := loadConfig(*f.path, env, stderr)
	if err != nil {
		return err
	}
	if cfg.SessionStore != "redis" {
		return usageError("sessions: session.store is %q: sessions live only in browser cookies; rotate session.secrets to end them all", cfg.SessionStore)
	}
	return withRedisStore(cfg, stderr, func(store *session.RedisStore) error {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		iss := cfg.Provider.Issuer // "" for plain OAuth 2.0, as in its sessions
		if verb == "list" {
			return listSessions(ctx, store, iss, *f.sub, stdout)
		}
		return revokeSessions(ctx, store, iss, *f.sub, *f.id, *f.all, stdout)
	})
}

// sessionsFlags are the flags of `sessions list` or `sessions revoke`;
// id and all are nil for list.
type sessionsFlags struct {
	fs            *command
	path, sub, id *string
	all           *bool
}

// newSessionsFlags declares the flags of the sessions command verb.
func newSessionsFlags(verb string) *sessionsFlags {
	f := &sessionsFlags{}
	if verb == "list" {
		f.fs = newCommand("sessions list", "--config FILE [--sub SUB]",
			"Lists the server-side sessions of the redis session store.")
	} else {
		f.fs = newCommand("sessions revoke", "--config FILE (--sub SUB | --id ID | --all)",
			"Ends server-side sessions of the redis session store at once, on every replica.")
	}
	f.path = f.fs.String("config", "", configUsage)
	f.sub = f.fs.String("sub", "", "only the sessions of the user `SUB`: the provider's sub claim, whatever user_claim says")
	if verb == "revoke" {
		f.id = f.fs.String("id", "", "the one session `ID` that \"portcullis sessions list\" shows")
		f.all = f.fs.Bool("all", false, "every session")
	}
	return f
}

// emptySelector is the name of a selector flag (--sub, --id) given with
// an empty value, or "" when there is none.
func emptySelector(fs *command) string {
	var empty string
	fs.Visit(func(f *flag.Flag) {
		if (f.Name == "sub" || f.Name == "id") && f.Value.String() == "" {
			empty = f.Name
		}
	})
	return empty
}

// withRedisStore runs use with the Redis store of cfg, closed after it.
// go-redis's own complaints (a Sentinel's answer) and the store's
// warnings are lines of the configured log on standard error, bounded as
// serve's are, not go-redis's bare lines.
func withRedisStore(cfg *config.Config, stderr io.Writer, use func(*session.RedisStore) error) error {
	logger := newLogger(cfg.LogFormat, cfg.LogLevel, stderr)
	defer libraryLogs(logger.Handler())()
	store, err := session.NewRedisStore(cfg.Redis, cfg.Cookie, session.StoreOptions{Logger: logger})
	if err != nil {
		return err
	}
	defer store.Close()
	return use(store)
}

// listSessions prints the sessions of sub (all with sub ""). SUB is the
// provider's sub (what --sub takes), USER the user_claim value; "-" marks
// an empty field.
func listSessions(ctx context.Context, store *session.RedisStore, iss, sub string, stdout io.Writer) error {
	infos, err := store.List(ctx, iss, sub)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSUB\tUSER\tEMAIL\tCREATED\tEXPIRES")
	for _, in := range infos {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", in.ID, cell(in.ProviderSubject), cell(in.Subject), cell(in.Email),
			in.CreatedAt.UTC().Format(time.RFC3339), in.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

// cell is s as one table cell: "-" when empty, Go-quoted when it holds
// white space or anything but printable ASCII, so that a value from the
// provider can neither break the columns nor send terminal escapes.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return strconv.QuoteToASCII(s)
		}
	}
	return s
}

func revokeSessions(ctx context.Context, store *session.RedisStore, iss, sub, id string, all bool, stdout io.Writer) error {
	chosen := 0
	for _, set := range []bool{sub != "", id != "", all} {
		if set {
			chosen++
		}
	}
	if chosen != 1 {
		return usageError("sessions revoke: give exactly one of --sub, --id, --all")
	}
	if b, err := hex.DecodeString(id); id != "" && (err != nil || len(b) != 32) {
		return usageError("sessions revoke: --id %q is not an ID shown by `sessions list` (64 hex digits)", id)
	}
	var n int
	var err error
	switch {
	case sub != "":
		n, err = store.RevokeSubject(ctx, iss, sub)
	case id != "":
		err = store.DeleteByID(ctx, id)
		if errors.Is(err, session.ErrNoSession) {
			// Exit code 1, not "revoked 0": the one session asked for was
			// not there to end (docs/sessions.md).
			return fmt.Errorf("sessions revoke: no session has the id %s (it ended, expired or was revoked already); nothing was revoked", id)
		}
		if err == nil {
			n = 1
		}
	default:
		n, err = store.DeleteAll(ctx)
	}
	if errors.Is(err, session.ErrUnconfirmed) {
		// Exit code 1 and no count on stdout: a count here would be a
		// guess. Running the command again is safe and tells what is left.
		return fmt.Errorf("sessions revoke: %w; %d session(s) were revoked before it; run the command again", err, n)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "revoked %d session(s)\n", n)
	return nil
}
