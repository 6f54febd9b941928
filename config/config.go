// Package config reads the TOML configuration file strictly (every problem
// names its line), validates it without dialling anything and translates it
// into the other packages' own Config types. Only cmd imports it.
//
// The file format is documented in docs/configuration.md. Beyond it: any string value may use
// ${ENV_VAR} (an unset variable is a problem; "$$" is a literal "$", and a
// "$" followed by anything else stays as it is); every secret X may be given
// as X_file instead (client_secret_file, secrets_file with one secret per
// line, redis_password_file); relative file paths are relative to the
// configuration file's directory.
package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/policy"
	"github.com/portcullis/portcullis/proxy"
	"github.com/portcullis/portcullis/session"
)

// Config is a loaded, valid configuration, already translated for wiring.
type Config struct {
	Path string // the file it came from

	Listen          string
	OpsListen       string // "" disables the ops listener
	TLSCertFile     string
	TLSKeyFile      string
	ShutdownTimeout time.Duration
	Pprof           bool // serve /debug/pprof on the ops listener
	// ShutdownDelay is how long the listener keeps serving after SIGTERM,
	// with /readyz already 503, before the drain of ShutdownTimeout begins.
	ShutdownDelay time.Duration
	// MaxConnections bounds the gateway listener's client connections;
	// 0 means no bound.
	MaxConnections int
	// UpgradeIdleTimeout closes an upgraded connection (a WebSocket) on
	// which neither side sent a byte for that long; 0 never does.
	UpgradeIdleTimeout time.Duration

	Proxy    proxy.Config // the "from config" fields are filled
	Provider idp.Config   // RedirectURL filled from public_url + prefix
	Routes   []policy.RouteConfig

	SessionStore string // "cookie" or "redis"
	Cookie       session.CookieConfig
	Redis        session.RedisConfig

	LogFormat string // "text" or "json"
	LogLevel  string // "debug", "info", "warn", "error"

	// Warnings are non-fatal remarks (http:// issuer off loopback, routes
	// that earlier routes always decide, ...), in the same form as problems:
	// "FILE:LINE: key: warning: message".
	Warnings []string

	// upstreamAt is each [[upstreams]] url's key and line, in file order:
	// UpstreamsReaching names them.
	upstreamAt []Problem
}

// Problem is one thing wrong with the file.
type Problem struct {
	File string
	Line int    // 0 when the problem has no line (unreadable file)
	Key  string // dotted key, e.g. "routes[2].path" or "session.secrets"
	Msg  string
}

func (p Problem) String() string {
	if p.Line == 0 {
		return fmt.Sprintf("%s: %s: %s", p.File, p.Key, p.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", p.File, p.Line, p.Key, p.Msg)
}

// Problems is every problem found in a file; Load returns it as its error.
type Problems []Problem

func (ps Problems) Error() string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	return b.String()
}
