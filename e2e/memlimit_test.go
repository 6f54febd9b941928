package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// TestMemoryLimitFromCgroup runs the gateway in a memory cgroup limited to
// 300 MiB, as a container with a memory limit is: serve sets the Go
// runtime's soft limit to 90% of it (AUTOMEMLIMIT sets the share,
// GOMEMLIMIT wins), seen in the runtime's own metric on /metrics.
func TestMemoryLimitFromCgroup(t *testing.T) {
	const limit = 300 << 20
	cg := memoryCgroup(t, limit)
	p := oidctest.New(t, oidctest.Options{})
	up := newUpstream(t)
	for _, tt := range []struct {
		env  []string
		want int64
		said bool // the log says that serve set the limit
	}{
		{want: limit * 9 / 10, said: true},
		{env: []string{"AUTOMEMLIMIT=0.5"}, want: limit / 2, said: true},
		{env: []string{"GOMEMLIMIT=100MiB"}, want: 100 << 20}, // the runtime's own
		{env: []string{"AUTOMEMLIMIT=off"}, want: 1<<63 - 1},
	} {
		gw := startInCgroup(t, cg, tt.env, opsConfig(p, up.URL, []string{secret}, ""))
		if got := metricValue(t, gw, "go_gc_gomemlimit_bytes"); got != float64(tt.want) {
			t.Errorf("%v: go_gc_gomemlimit_bytes %.0f, want %d", tt.env, got, tt.want)
		}
		// serve logs this after the memory limit; the log is written every
		// 200 ms, and on a loaded machine later than any fixed wait.
		gw.waitOutput(t, "portcullis serving", 1)
		said := strings.Contains(gw.Proc.Output(), "memory limit set from the container's")
		if said != tt.said {
			t.Errorf("%v: log says the limit: %v, want %v:\n%s", tt.env, said, tt.said, gw.Proc.Output())
		}
		gw.Proc.Stop()
	}
}

// memoryCgroup creates a memory cgroup limited to limit bytes (cgroup v1's
// memory controller, else cgroup v2) and removes it when the test ends. It
// fails when the machine has neither or the test may not create one.
func memoryCgroup(t *testing.T, limit int64) string {
	t.Helper()
	dir, file := "/sys/fs/cgroup/memory", "memory.limit_in_bytes"
	if _, err := os.Stat(filepath.Join(dir, file)); err != nil {
		dir, file = "/sys/fs/cgroup", "memory.max"
		if b, err := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control")); err != nil || !strings.Contains(string(b), "memory") {
			t.Fatalf("no memory cgroup controller (v1 %s or v2 %s with memory in cgroup.subtree_control)", "/sys/fs/cgroup/memory", dir)
		}
	}
	cg := filepath.Join(dir, "portcullis-e2e-"+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(cg, 0o755); err != nil {
		t.Fatalf("creating a memory cgroup (the test runs as root in CI): %v", err)
	}
	t.Cleanup(func() {
		for i := 0; i < 50 && os.Remove(cg) != nil; i++ { // empty once its processes are reaped
			time.Sleep(100 * time.Millisecond)
		}
	})
	if err := os.WriteFile(filepath.Join(cg, file), []byte(strconv.FormatInt(limit, 10)), 0o644); err != nil {
		t.Fatalf("limiting the cgroup: %v", err)
	}
	return cg
}

// startInCgroup is startGateway with the gateway in cgroup cg and env
// added to its environment.
func startInCgroup(t *testing.T, cg string, env []string, cfg string) *gateway {
	t.Helper()
	a := pickAddrs(t)
	cfg = strings.NewReplacer("{{LISTEN}}", a.Listen, "{{OPS}}", a.Ops).Replace(cfg)
	path := filepath.Join(t.TempDir(), "portcullis.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", "-c", `echo $$ > "$0/cgroup.procs" && exec "$@"`, cg, binary, "serve", "--config", path)
	cmd.Env = append(os.Environ(), env...)
	g := &gateway{URL: "http://" + a.Listen, OpsURL: "http://" + a.Ops, Proc: testenv.Start(t, cmd)}
	testenv.WaitTCP(t, a.Listen, 10*time.Second, g.Proc)
	g.waitReady(t)
	return g
}
