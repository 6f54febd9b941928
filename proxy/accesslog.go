package proxy

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/portcullis/portcullis/internal/logattr"
)

// Bounds of the values of a log line that a client chooses, shown as
// logattr.Value shows them, so that a request makes a line of a few KiB at
// most: the request target alone may be 64 KiB, three times that once
// normalised, and log shippers split or drop a line past 16 to 48 KiB,
// which would let a client make its own line unreadable. An error's text
// is cut at logattr.MaxCause.
const (
	maxLoggedMethod = 64 // as tracing's http.request.method_original
	maxLoggedHost   = 256
	maxLoggedPath   = 2048
	maxLoggedUser   = 256 // OIDC Core §2: a sub is at most 255 ASCII characters
)

// subAttr is the "sub" of a log line: the user, which user_claim may take
// from a claim the user chose (preferred_username, email), shown as
// logattr.Value shows it.
func subAttr(sub string) slog.Attr { return slog.String("sub", logattr.Value(sub, maxLoggedUser)) }

// endedAttrs are the "host" and "path" of the line of a long-lived answer
// or connection that a recheck ended, as its request line shows them: the
// request line was written when it began, maybe hours before, and a user's
// several connections were told apart by nothing else.
func endedAttrs(q request) (host, path slog.Attr) {
	return slog.String("host", logattr.Value(q.host.String(), maxLoggedHost)), slog.String("path", logattr.Value(q.path, maxLoggedPath))
}

// upstreamErrorLog is a reverse proxy's ErrorLog: each complaint one warn
// line, its text shown by logattr.Line. The reverse proxy writes an
// upstream's own bytes into the text (a malformed trailer line, an HTTP/2
// GOAWAY's debug data, quoted), up to the 4 KiB of a trailer or the 16 KiB
// of a frame, each byte escaped into as many as eight.
type upstreamErrorLog struct{ log *slog.Logger }

func (w upstreamErrorLog) Write(p []byte) (int, error) {
	w.log.Warn(logattr.Line(p))
	return len(p), nil
}

// finish records the request's metrics and its one log line. The path is
// logged without the query string, which may carry codes and states.
func (h *Handler) finish(ex *exchange, r *http.Request) {
	status := ex.sentStatus()
	outcome := ex.outcome().String()
	method := ex.method
	if method == "" {
		method = r.Method
	}
	// One reading of the clock is both the end of the duration and the
	// line's time: a second reading was about 50 ns of the line's 1.2 µs
	// of CPU (BenchmarkAccessLine).
	end := h.now()
	d := end.Sub(ex.start)
	h.metrics.request(ex.label, method, outcome, d)
	if !h.log.Enabled(r.Context(), slog.LevelInfo) {
		return
	}
	var sub string
	if ex.id != nil {
		sub = ex.id.Subject
	}
	path := ex.path
	if path == "" {
		path = r.URL.EscapedPath()
	}
	host := r.Host
	if ex.host.Name != "" {
		host = ex.host.String()
	}
	// The record is handed to the handler directly: Logger.LogAttrs would
	// also walk the stack for a source position that no handler prints. A
	// record holds five attributes without allocating; the last five go in
	// as one group without a name, which handlers print inline, kept in
	// the exchange.
	ex.logTail = [...]slog.Attr{slog.String("outcome", outcome), slog.Int("status", status),
		slog.Float64("duration_ms", float64(d)/float64(time.Millisecond)), slog.String("user", logattr.Value(sub, maxLoggedUser)),
		slog.String("remote_addr", peerHost(r.RemoteAddr))}
	rec := slog.NewRecord(end, slog.LevelInfo, "request", 0)
	rec.AddAttrs(slog.String("method", logattr.Value(method, maxLoggedMethod)), slog.String("host", logattr.Value(host, maxLoggedHost)),
		slog.String("path", logattr.Value(path, maxLoggedPath)),
		slog.String("route", ex.label), slog.Attr{Value: slog.GroupValue(refusedTail(ex)...)})
	_ = h.log.Handler().Handle(r.Context(), rec)
}

// refusedTail is the request line's last attributes: a refused request's
// add the code and the reason its client was shown (the rule, group or
// scope that failed, a token refused as not valid), so that the line alone
// says why; before, a 403 was "denied" in the log and its reason only on
// the page. Only a refusal pays for the longer slice: an allowed request's
// tail is the exchange's own.
//
// A request whose session cookie names no live session adds
// session_cookie=stale: refused or sent to sign in, it was otherwise the
// same line as a client that sent no cookie, and an operator looking into
// a user's "I was signed out" could not tell an ended session from a
// cookie the browser never sent. It names no session and says nothing of
// why it ended: the store keeps nothing of a deleted session to ask.
// A cookie that does not open with session.secrets is
// session_cookie=foreign instead (cookieState). A start or sign-out whose
// rd was refused adds return_refused, the host it named (returnTo).
func refusedTail(ex *exchange) []slog.Attr {
	e := ex.refused
	if e == nil && !ex.staleCookie && ex.refusedReturn == "" {
		return ex.logTail[:]
	}
	tail := ex.logTail[:len(ex.logTail):len(ex.logTail)]
	if e != nil {
		tail = append(tail, slog.String("code", e.code), slog.String("reason", logattr.Value(e.reason, logattr.MaxCause)))
	}
	if ex.staleCookie {
		tail = append(tail, slog.String("session_cookie", cookieState(ex)))
	}
	if ex.refusedReturn != "" {
		tail = append(tail, slog.String("return_refused", logattr.Value(ex.refusedReturn, maxLoggedHost)))
	}
	return tail
}

// cookieState is the session_cookie value of a request whose session
// cookie named no live session: foreign when it does not open with
// session.secrets (replicas with different secrets, a redeploy that
// dropped the old one: every user is sent to sign in, each replica
// switch again), else stale.
func cookieState(ex *exchange) string {
	if ex.foreignCookie {
		return "foreign"
	}
	return "stale"
}
