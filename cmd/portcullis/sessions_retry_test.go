package main

import (
	"bytes"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// replyDropper is a TCP relay to a real redis-server that, once, lets a
// command containing match reach Redis and run there, then closes the
// client's connection instead of passing Redis's answer on: a network that
// fails between a command and its answer, which the test cannot get from
// Redis itself.
type replyDropper struct {
	ln      net.Listener
	backend string
	match   []byte
	fired   atomic.Bool
	wg      sync.WaitGroup
}

func newReplyDropper(tb testing.TB, backend, match string) *replyDropper {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	d := &replyDropper{ln: ln, backend: backend, match: []byte(match)}
	d.wg.Add(1)
	go d.serve()
	tb.Cleanup(func() { ln.Close(); d.wg.Wait() })
	return d
}

func (d *replyDropper) serve() {
	defer d.wg.Done()
	for {
		c, err := d.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", d.backend)
		if err != nil {
			c.Close()
			continue
		}
		var armed atomic.Bool
		d.wg.Add(2)
		go func() { // client -> Redis, noting the matching command
			defer d.wg.Done()
			defer s.Close()
			buf := make([]byte, 64<<10)
			for {
				n, err := c.Read(buf)
				if n > 0 && !d.fired.Load() && bytes.Contains(bytes.ToLower(buf[:n]), d.match) {
					armed.Store(true)
				}
				if n > 0 {
					if _, werr := s.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
		go func() { // Redis -> client, dropping the first armed answer
			defer d.wg.Done()
			defer c.Close()
			buf := make([]byte, 64<<10)
			for {
				n, err := s.Read(buf)
				if n > 0 && armed.Load() && d.fired.CompareAndSwap(false, true) {
					s.Close()
					return
				}
				if n > 0 {
					if _, werr := c.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
	}
}

// TestSessionsRevokeAnswerLost: when the connection fails after Redis ran
// the revoke's UNLINK but before its answer came back, go-redis used to
// send the UNLINK again, which found nothing: `revoke --id` then said no
// session had the id and nothing was revoked, and `--sub`/`--all`
// counted 0, while the sessions had been ended. Revoke must never claim
// what it does not know: it exits 1 and says the outcome is unknown.
func TestSessionsRevokeAnswerLost(t *testing.T) {
	url := sessionsRedis(t)
	direct := sessionsConfigFile(t, "store = \"redis\"\nredis_url = \""+url+"\"\n")
	for _, sel := range []string{"id", "sub", "all"} {
		t.Run(sel, func(t *testing.T) {
			if _, _, code := sessionsRun(t, "revoke", "--config", direct, "--all"); code != 0 {
				t.Fatal("clearing Redis failed")
			}
			seedSessions(t, direct, "alice", "bob")
			out, _, _ := sessionsRun(t, "list", "--config", direct)
			args := map[string][]string{"id": {"--id", idOf(listedIDs(t, out), "alice")},
				"sub": {"--sub", "alice"}, "all": {"--all"}}[sel]

			d := newReplyDropper(t, strings.TrimSuffix(strings.TrimPrefix(url, "redis://"), "/0"), "unlink")
			viaDropper := sessionsConfigFile(t, "store = \"redis\"\nredis_url = \"redis://"+d.ln.Addr().String()+"/0\"\n")
			out, errOut, code := sessionsRun(t, append([]string{"revoke", "--config", viaDropper}, args...)...)
			if !d.fired.Load() {
				t.Fatal("the relay dropped no answer: the test did not exercise a lost answer")
			}
			left, _, _ := sessionsRun(t, "list", "--config", direct)
			if containsValue(listedIDs(t, left), "alice") {
				t.Fatalf("alice's session survived the revoke:\n%s", left)
			}
			t.Logf("stderr: %s", errOut)
			if code != 1 || out != "" || !strings.Contains(errOut, "may or may not have been revoked") ||
				!strings.Contains(errOut, "run the command again") {
				t.Errorf("revoke --%s whose answer was lost: exit %d, stdout %q, stderr %q; want exit 1, no count, and that the outcome is unknown",
					sel, code, out, errOut)
			}
		})
	}
}

// TestSessionsRevokeHungRedis: a Redis that stops answering (SIGSTOP)
// costs each command about a second, then exit 1 with the error on
// standard error and no count on standard output; `revoke --id`, whose
// UNLINK may still run when Redis resumes, says the outcome is unknown.
func TestSessionsRevokeHungRedis(t *testing.T) {
	addr, p := testenv.StartRedis(t)
	path := sessionsConfigFile(t, "store = \"redis\"\nredis_url = \"redis://"+addr+"/0\"\n")
	seedSessions(t, path, "alice")
	out, _, _ := sessionsRun(t, "list", "--config", path)
	id := idOf(listedIDs(t, out), "alice")
	if err := syscall.Kill(p.Cmd.Process.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(p.Cmd.Process.Pid, syscall.SIGCONT) })
	for _, args := range [][]string{{"revoke", "--id", id}, {"revoke", "--sub", "alice"}, {"revoke", "--all"}, {"list"}} {
		start := time.Now()
		out, errOut, code := sessionsRun(t, append([]string{args[0], "--config", path}, args[1:]...)...)
		if took := time.Since(start); code != 1 || out != "" || errOut == "" || took > 5*time.Second {
			t.Errorf("%v with Redis hung: exit %d after %v, stdout %q, stderr %q; want exit 1 within 5 s and the error on stderr",
				args, code, took, out, errOut)
		}
		if len(args) > 1 && args[1] == "--id" && !strings.Contains(errOut, "may or may not have been revoked") {
			t.Errorf("revoke --id with Redis hung: stderr %q does not say the outcome is unknown", errOut)
		}
	}
}
