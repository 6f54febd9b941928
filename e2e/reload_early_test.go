package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// TestHangupWhileStarting: a SIGHUP that reaches serve while it is still
// starting (here: reading a secrets_file from a pipe whose writer has not
// written yet; elsewhere a configuration tool that signals a process it
// just started) neither kills it, as a hangup kills a process that does
// not catch it, nor is lost: once serving, the gateway reloads, reading
// the file as it is then.
func TestHangupWhileStarting(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	a := pickAddrs(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "secret")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := strings.NewReplacer("{{LISTEN}}", a.Listen, "{{OPS}}", a.Ops, `secrets = [""]`, `secrets_file = "`+fifo+`"`).
		Replace(opsConfig(p, up.URL, []string{}, ""))
	path := filepath.Join(dir, "portcullis.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	proc := testenv.Start(t, exec.Command(binary, "serve", "--config", path))
	gw := &gateway{URL: "http://" + a.Listen, OpsURL: "http://" + a.Ops, Proc: proc}
	w := openedByReader(t, fifo, proc)
	defer w.Close()
	gw.signal(t, syscall.SIGHUP)
	select {
	case <-proc.Exited():
		t.Fatalf("a SIGHUP while starting ended serve: %v; output:\n%s", proc.ExitErr(), proc.Output())
	case <-time.After(500 * time.Millisecond):
	}
	// The file changes after serve read it (a stricter rule, the secret
	// inline, the pipe read once only): the reload the SIGHUP asked for
	// applies it.
	changed := strings.NewReplacer("{{LISTEN}}", a.Listen, "{{OPS}}", a.Ops).Replace(opsConfig(p, up.URL, []string{secret}, "deny = true"))
	if err := os.WriteFile(path, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteString(secret + "\n"); err != nil {
		t.Fatal(err)
	}
	w.Close()
	testenv.WaitTCP(t, a.Listen, 10*time.Second, proc)
	gw.waitReady(t)
	gw.waitOutput(t, `msg="config reloaded"`, 1)
	if status, err := apiGet(&http.Client{Timeout: 5 * time.Second, Transport: clientTransport}, gw.URL+"/admin/x", p.AccessToken("alice", nil)); status != 403 {
		t.Errorf("GET /admin/x after the reload the early SIGHUP asked for = %d %v, want 403", status, err)
	}
}

// openedByReader opens the pipe at fifo for writing, which returns once
// proc has opened it for reading (and makes proc's read of it wait for
// what the test writes). Not /proc/PID/fd: the gateway is not dumpable,
// so that directory is root's, closed to a test run by another user.
func openedByReader(t *testing.T, fifo string, proc *testenv.Process) *os.File {
	t.Helper()
	opened := make(chan *os.File, 1)
	go func() {
		if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			opened <- w
		}
	}()
	select {
	case w := <-opened:
		return w
	case <-proc.Exited():
		t.Fatalf("serve ended before it opened the secrets_file: %v; output:\n%s", proc.ExitErr(), proc.Output())
	case <-time.After(10 * time.Second):
		t.Fatalf("serve never opened the secrets_file; output:\n%s", proc.Output())
	}
	return nil
}
