package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
	// Held open for writing, the pipe makes serve's read of it wait.
	w, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	cfg := strings.NewReplacer("{{LISTEN}}", a.Listen, "{{OPS}}", a.Ops, `secrets = [""]`, `secrets_file = "`+fifo+`"`).
		Replace(opsConfig(p, up.URL, []string{}, ""))
	path := filepath.Join(dir, "portcullis.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	proc := testenv.Start(t, exec.Command(binary, "serve", "--config", path))
	gw := &gateway{URL: "http://" + a.Listen, OpsURL: "http://" + a.Ops, Proc: proc}
	for deadline := time.Now().Add(10 * time.Second); !holdsOpen(proc.Cmd.Process.Pid, fifo); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serve never opened the secrets_file; output:\n%s", proc.Output())
		}
	}
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

// holdsOpen reports whether process pid has path open.
func holdsOpen(pid int, path string) bool {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	fds, _ := os.ReadDir(dir)
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join(dir, fd.Name())); err == nil && target == path {
			return true
		}
	}
	return false
}
