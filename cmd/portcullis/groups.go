package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/config"
	"github.com/portcullis/portcullis/idp"
)

// runGroups is `portcullis groups --config FILE --user EMAIL [--token-file
// FILE]`: it prints the groups the provider's directory returns for one
// user, one per line, so that an operator can check the directory set-up
// before anyone signs in. Google is read with the configured service
// account; GitHub and Microsoft Graph only with a user's access token.
func runGroups(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) error {
	fs := newCommand("groups", "--config FILE --user EMAIL [--token-file FILE]",
		"Prints the groups the provider's directory returns for one user, one per line.")
	path := fs.String("config", "", configUsage)
	user := fs.String("user", "", "the user's `EMAIL` address (Google)")
	tokenFile := fs.String("token-file", "", "`FILE` holding a user's access token (GitHub, Entra ID)")
	if err := fs.parse(args, stdout, stderr); err != nil {
		return err
	}
	cfg, err := loadConfig(*path, env, stderr)
	if err != nil {
		return err
	}
	token, err := readTokenFile(*tokenFile)
	if err != nil {
		return err
	}
	if err := checkGroupsArgs(cfg.Provider.Kind, *user, token); err != nil {
		return err
	}
	groups, err := directoryGroups(ctx, cfg, *user, token)
	if err != nil {
		return err
	}
	for _, g := range groups {
		fmt.Fprintln(stdout, shownGroup(g))
	}
	if len(groups) == 0 {
		fmt.Fprintf(stderr, "%s: no groups\n", *user)
	}
	return nil
}

// readTokenFile is the access token in the --token-file file, without
// the white space around it; "" without the flag.
func readTokenFile(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", usageError("--token-file: %v", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// checkGroupsArgs refuses the flags kind's directory needs and did not
// get: Google's is read for --user, GitHub's and Entra ID's with the
// user's own token.
func checkGroupsArgs(kind, user, token string) error {
	switch {
	case kind == "google" && user == "":
		return usageError("--user EMAIL is required")
	case (kind == "github" || kind == "entra") && token == "":
		return usageError("kind %q reads groups with the user's own access token: pass --token-file FILE "+
			"(GitHub: a token with scope read:org; Entra ID: a Microsoft Graph token of the user)", kind)
	}
	return nil
}

// directoryGroups reads the groups of user from the directory of cfg's
// provider, with the user's token where the directory takes one.
func directoryGroups(ctx context.Context, cfg *config.Config, user, token string) ([]string, error) {
	client, err := idp.New(cfg.Provider)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	if !client.HasDirectory() {
		return nil, usageError("%s: provider kind %q reads no directory (google with google_service_account_file, github or entra)", cfg.Path, cfg.Provider.Kind)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	id := &portcullis.Identity{Subject: user, Email: user, EmailVerified: true}
	groups, err := client.DirectoryGroups(ctx, id, token)
	if err != nil {
		var de *idp.DirectoryError
		if errors.As(err, &de) && de.Hint != "" {
			// The hint is ours and stays whole; the error, which quotes
			// the directory, is cut as exitCode cuts any runtime failure.
			return nil, &exitError{code: 1, err: fmt.Errorf("%s\n%s", shownError(err), de.Hint)}
		}
		return nil, err
	}
	return groups, nil
}

// shownGroup is a group name the directory chose, as one line of output:
// as it is when every character is printable (a space included: groups
// compare exactly, and the operator copies the name into allow_groups),
// else Go-quoted. The ASCII controls never get here (a group the headers
// cannot carry fails the read), but a C1 control is a CSI to some
// terminals, and a bidirectional override or a zero-width character draws
// one name as another. A name starting with a quote is quoted too, so that
// a quoted line always means an escaped name.
func shownGroup(g string) string {
	if strings.HasPrefix(g, `"`) || !utf8.ValidString(g) || strings.IndexFunc(g, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return strconv.Quote(g)
	}
	return g
}
