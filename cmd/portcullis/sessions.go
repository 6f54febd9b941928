package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/portcullis/portcullis/session"
)

// runSessions is `portcullis sessions list|revoke` against the Redis store.
func runSessions(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "revoke") {
		return usageError("usage: portcullis sessions list --config FILE [--sub SUB]\n       portcullis sessions revoke --config FILE (--sub SUB | --id ID | --all)")
	}
	verb := args[0]
	fs := newFlagSet("sessions "+verb, stderr)
	path := fs.String("config", "", "configuration file (or PORTCULLIS_CONFIG)")
	sub := fs.String("sub", "", "only the sessions of this subject")
	var id *string
	var all *bool
	if verb == "revoke" {
		id = fs.String("id", "", "the session ID shown by `sessions list`")
		all = fs.Bool("all", false, "every session")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return &exitError{code: 2}
	}
	cfg, err := loadConfig(*path, env, stderr)
	if err != nil {
		return err
	}
	if cfg.SessionStore != "redis" {
		return usageError("sessions: session.store is %q: sessions live only in browser cookies; rotate session.secrets to end them all", cfg.SessionStore)
	}
	store, err := session.NewRedisStore(cfg.Redis, cfg.Cookie, session.StoreOptions{})
	if err != nil {
		return err
	}
	defer store.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if verb == "list" {
		return listSessions(ctx, store, *sub, stdout)
	}
	return revokeSessions(ctx, store, *sub, *id, *all, stdout)
}

func listSessions(ctx context.Context, store *session.RedisStore, sub string, stdout io.Writer) error {
	infos, err := store.List(ctx, sub)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSUBJECT\tEMAIL\tCREATED\tEXPIRES")
	for _, in := range infos {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", in.ID, in.Subject, in.Email,
			in.CreatedAt.UTC().Format(time.RFC3339), in.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

func revokeSessions(ctx context.Context, store *session.RedisStore, sub, id string, all bool, stdout io.Writer) error {
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
		n, err = store.DeleteBySubject(ctx, sub)
	case id != "":
		if err = store.DeleteByID(ctx, id); err == nil {
			n = 1
		}
	default:
		n, err = store.DeleteAll(ctx)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "revoked %d session(s)\n", n)
	return nil
}
