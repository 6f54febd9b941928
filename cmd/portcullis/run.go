package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/portcullis/portcullis/internal/logattr"
)

// exitError carries an exit code (docs/operations.md: 1 runtime, 2 usage/config, 3 denied).
type exitError struct {
	code int
	err  error // nil: nothing more to print
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func usageError(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

// exitCode prints err (when it has something to say) and maps it to an exit code.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "portcullis:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "portcullis:", shownError(err))
	return 1
}

// shownError is the text of a runtime failure as standard error shows it:
// cut after logattr.MaxCause bytes and with every control character shown
// as U+FFFD (logattr.Text: no log handler escapes the ASCII ones here). It
// may quote what Redis, a Sentinel, a provider or a directory answered (a
// Sentinel's error of 20 KB, an ESC or a C1 control that drives the
// operator's terminal). An exitError's own text is the command's and is
// printed whole.
func shownError(err error) string { return logattr.Text(err.Error(), logattr.MaxCause) }

const usage = `usage: portcullis <command> [flags]

commands:
  serve --config FILE        run the gateway (or set PORTCULLIS_CONFIG)
  demo                       run a self-contained demo on 127.0.0.1
  check --config FILE        validate a configuration file
        [--strict] [--request "METHOD URL" [--identity k=v ...]
                   [--header "Name: value" ...]]
  sessions list|revoke       list or end server-side sessions (redis store)
  groups --config FILE       print the groups the provider's directory returns
         --user EMAIL [--token-file FILE]   for one user
  version                    print version, commit and Go version

"portcullis <command> --help" shows a command's flags.`

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "--help" || arg == "-help" || arg == "help"
}

// run is the whole program behind main, callable from tests.
func run(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError("%s", usage)
	}
	switch args[0] {
	case "--version", "-v":
		return runVersion(stdout)
	case "version":
		fs := newCommand("version", "", "Prints the version, the commit and the Go version.")
		if err := fs.parse(args[1:], stdout, stderr); err != nil {
			return err
		}
		return runVersion(stdout)
	case "help", "-h", "--help", "-help":
		fmt.Fprintln(stdout, usage)
		return nil
	case "serve":
		return runServe(ctx, args[1:], env, stdout, stderr)
	case "demo":
		return runDemo(ctx, args[1:], env, stdout, stderr)
	case "check":
		return runCheck(args[1:], env, stdout, stderr)
	case "sessions":
		return runSessions(ctx, args[1:], env, stdout, stderr)
	case "groups":
		return runGroups(ctx, args[1:], env, stdout, stderr)
	}
	return usageError("unknown command %q\n%s", args[0], usage)
}
