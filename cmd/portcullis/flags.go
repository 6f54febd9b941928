package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// command is the flag set of one (sub)command with its help text. Help
// names flags "--flag", as the documentation does; the standard flag
// package's own usage printer writes "-flag".
type command struct {
	*flag.FlagSet
	synopsis string // after "usage: portcullis NAME"
	about    string // a paragraph after the usage line
}

// newCommand returns the flag set of `portcullis name`.
func newCommand(name, synopsis, about string) *command {
	fs := flag.NewFlagSet("portcullis "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parse errors are reported by parse
	fs.Usage = func() {}
	return &command{FlagSet: fs, synopsis: synopsis, about: about}
}

// parse parses args. --help (-h) prints the help to stdout and ends the
// command with exit code 0; an unknown flag, a bad value or a positional
// argument is a usage error (exit code 2) followed by the help on stderr.
func (c *command) parse(args []string, stdout, stderr io.Writer) error {
	err := c.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		c.printHelp(stdout)
		return &exitError{code: 0}
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v\n", c.Name(), dashDash(err.Error()))
	case c.NArg() > 0:
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", c.Name(), c.Arg(0))
	default:
		return nil
	}
	c.printHelp(stderr)
	return &exitError{code: 2}
}

// dashDash rewrites the flag package's "-flag" in an error message as
// "--flag" ("flag provided but not defined: -x", "invalid value ... for
// flag -x: ...", "flag needs an argument: -x").
func dashDash(msg string) string {
	for _, p := range []string{"for flag -", "defined: -", "argument: -"} {
		msg = strings.Replace(msg, p, p+"-", 1)
	}
	return strings.ReplaceAll(msg, "---", "--")
}

// printHelp writes the usage line, the description and every flag.
func (c *command) printHelp(w io.Writer) {
	fmt.Fprintln(w, strings.TrimSpace("usage: "+c.Name()+" "+c.synopsis))
	if c.about != "" {
		fmt.Fprintf(w, "\n%s\n", c.about)
	}
	first := true
	c.VisitAll(func(f *flag.Flag) {
		if first {
			fmt.Fprintf(w, "\nflags:\n")
			first = false
		}
		name, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		if !isZeroDefault(f) {
			usage += fmt.Sprintf(" (default %q)", f.DefValue)
		}
		fmt.Fprintf(w, "%s\n      %s\n", line, usage)
	})
}

// isZeroDefault reports whether f's default is its type's zero value, which
// help does not mention.
func isZeroDefault(f *flag.Flag) bool {
	t := reflect.TypeOf(f.Value)
	var z reflect.Value
	if t.Kind() == reflect.Pointer {
		z = reflect.New(t.Elem())
	} else {
		z = reflect.Zero(t)
	}
	return f.DefValue == z.Interface().(flag.Value).String()
}
