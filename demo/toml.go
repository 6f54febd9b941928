package demo

import (
	"fmt"
	"strings"
)

// ConfigTOML returns a complete gateway configuration (docs/configuration.md) for this
// demo: the gateway listens on gatewayListen (a 127.0.0.1 address) at the
// GatewayURL given to Start, logs in through the demo provider with refresh
// tokens, seals sessions with sessionSecret and forwards to the demo upstream.
// `/public/**` needs no login, `/admin/**` needs the group "admins", and
// everything else any signed-in user.
func (e *Env) ConfigTOML(gatewayListen, sessionSecret string) string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("# Written by `portcullis demo`. Every listener binds 127.0.0.1.")
	line("[server]")
	line("listen = %s", tomlString(gatewayListen))
	line("public_url = %s", tomlString(e.gatewayURL))
	line("ops_listen = %s", tomlString("127.0.0.1:0"))
	line("shutdown_timeout = %s", tomlString("2s"))
	line("shutdown_delay = %s", tomlString("0s"))
	line("")
	line("[provider]")
	line("issuer = %s", tomlString(e.IssuerURL))
	line("client_id = %s", tomlString(e.ClientID))
	line("client_secret = %s", tomlString(e.ClientSecret))
	line("# groups releases the groups claim; offline_access a refresh token")
	line("scopes = [%s, %s, %s, %s, %s]", tomlString("openid"), tomlString("email"),
		tomlString("profile"), tomlString("groups"), tomlString("offline_access"))
	line("")
	line("[session]")
	line("store = %s", tomlString("cookie"))
	line("secrets = [%s]", tomlString(sessionSecret))
	line("")
	line("[[upstreams]]")
	line("name = %s", tomlString("demo"))
	line("url = %s", tomlString(e.UpstreamURL))
	line("")
	line("[[routes]]")
	line("path = %s", tomlString("/public/**"))
	line("upstream = %s", tomlString("demo"))
	line("public = true")
	line("")
	line("[[routes]]")
	line("path = %s", tomlString("/admin/**"))
	line("upstream = %s", tomlString("demo"))
	line("allow_groups = [%s]", tomlString("admins"))
	line("")
	line("[[routes]]")
	line("path = %s", tomlString("/**"))
	line("upstream = %s", tomlString("demo"))
	return b.String()
}

// tomlString quotes s as a TOML basic string (TOML 1.0 "String"): `"` and
// `\` are escaped, control characters written as \uXXXX.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
