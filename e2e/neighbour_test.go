package e2e

import (
	"errors"
	"io"
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

// TestNeighbourCannotReadTheGatewaysSecrets runs the gateway as an
// unprivileged user (the image's 65532 when the test runs as root, else
// the test's own) with its client secret in the environment (${NAME}),
// and reads its /proc files as another process of that same user: a
// neighbour on the host sharing the account, a container of the pod
// sharing its process namespace. A dumpable process hands such a reader
// /proc/PID/environ (the secret as the environment gave it) and
// /proc/PID/maps and mem (every secret the gateway holds), and is one a
// crash may write a core file of. Not dumpable, its /proc files belong to
// root.
func TestNeighbourCannotReadTheGatewaysSecrets(t *testing.T) {
	t.Parallel()
	clientSecret := randomSecret(t)
	p := oidctest.New(t, oidctest.Options{ClientSecret: clientSecret})
	as, uid := neighbour()
	gw := startGatewayAs(t, as, uid, tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, "${KB_CLIENT_SECRET}"),
		Upstream: newUpstream(t).URL, Routes: "[[routes]]\npath = \"/**\"\n"}.String(), "KB_CLIENT_SECRET="+clientSecret)
	proc := "/proc/" + strconv.Itoa(gw.Proc.Cmd.Process.Pid)
	if st := procStatus(t, proc); !strings.Contains(st, "\nUid:\t"+strconv.Itoa(uid)+"\t") {
		t.Fatalf("the gateway does not run as uid %d:\n%s", uid, st)
	}
	var fi syscall.Stat_t
	if err := syscall.Stat(proc+"/environ", &fi); err != nil || fi.Uid != 0 {
		t.Errorf("%s/environ belongs to uid %d (%v), want 0: the gateway is dumpable", proc, fi.Uid, err)
	}
	// maps is what a reader of mem needs first, behind the same check.
	for _, f := range []string{"environ", "maps"} {
		out, err := exec.Command(as[0], append(as[1:], "cat", proc+"/"+f)...).CombinedOutput()
		if err == nil || strings.Contains(string(out), clientSecret) {
			t.Errorf("uid %d read %s/%s (error %v, the client secret in it: %v)", uid, proc, f, err, strings.Contains(string(out), clientSecret))
		}
	}
	// The gateway still reads its own: /metrics counts its descriptors in /proc/self/fd.
	if fds := metricValue(t, gw, "process_open_fds"); fds < 3 {
		t.Errorf("process_open_fds %v: the gateway cannot read its own /proc/self/fd", fds)
	}
}

// startGatewayAs is startGatewayEnv for a gateway run by the command
// prefix as (neighbour's) as uid: its binary and configuration in a
// directory of their own that uid can reach.
func startGatewayAs(t *testing.T, as []string, uid int, cfg string, env ...string) *gateway {
	t.Helper()
	dir, err := os.MkdirTemp("", "portcullis-neighbour-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "portcullis")
	copyFile(t, binary, bin, 0o755)
	a := pickAddrs(t)
	cfg = strings.NewReplacer("{{LISTEN}}", a.Listen, "{{OPS}}", a.Ops).Replace(cfg)
	path := filepath.Join(dir, "portcullis.toml")
	err = errors.Join(os.WriteFile(path, []byte(cfg), 0o600), os.Chown(path, uid, uid), os.Chmod(dir, 0o711))
	if err != nil {
		t.Fatalf("handing %s to uid %d: %v", dir, uid, err)
	}
	cmd := exec.Command(as[0], append(as[1:], bin, "serve", "--config", path)...)
	cmd.Env = append(os.Environ(), env...)
	gw := &gateway{URL: "http://" + a.Listen, OpsURL: "http://" + a.Ops, Proc: testenv.Start(t, cmd)}
	testenv.WaitTCP(t, a.Listen, 10*time.Second, gw.Proc)
	gw.waitReady(t)
	return gw
}

// neighbour returns the command prefix that runs a program as the
// unprivileged user the test plays, and that user's uid.
func neighbour() ([]string, int) {
	if os.Geteuid() != 0 {
		return []string{"env"}, os.Geteuid()
	}
	return []string{"setpriv", "--reuid=65532", "--regid=65532", "--clear-groups", "--"}, 65532
}

func copyFile(tb testing.TB, from, to string, mode os.FileMode) {
	tb.Helper()
	src, err := os.Open(from)
	if err != nil {
		tb.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_EXCL, mode)
	if err == nil {
		_, err = io.Copy(dst, src)
		err = errors.Join(err, dst.Close())
	}
	if err != nil {
		tb.Fatal(err)
	}
}

func procStatus(tb testing.TB, proc string) string {
	tb.Helper()
	b, err := os.ReadFile(proc + "/status")
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}
