package e2e

import (
	"bufio"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// demoRun is a running `portcullis demo`.
type demoRun struct {
	URL   string            // the gateway URL it printed first, without the trailing slash
	Users map[string]string // username -> password, from its banner
	Proc  *testenv.Process
}

var bannerUser = regexp.MustCompile(`^username: (\S+)  password: (\S+)$`)

// startDemo runs the demo command and reads its banner from stdout.
func startDemo(tb testing.TB) *demoRun {
	tb.Helper()
	cmd := exec.Command(binary, "demo")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	p := testenv.Start(tb, cmd)
	d := &demoRun{Users: map[string]string{}, Proc: p}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(30 * time.Second)
	for len(d.Users) < 2 {
		select {
		case l, ok := <-lines:
			if !ok {
				tb.Fatalf("demo exited; output:\n%s", p.Output())
			}
			if d.URL == "" {
				if !strings.HasPrefix(l, "http://127.0.0.1:") || !strings.HasSuffix(l, "/") {
					tb.Fatalf("first banner line %q is not the gateway URL", l)
				}
				d.URL = strings.TrimSuffix(l, "/")
				continue
			}
			m := bannerUser.FindStringSubmatch(l)
			if m == nil {
				tb.Fatalf("unexpected banner line %q", l)
			}
			d.Users[m[1]] = m[2]
		case <-timeout:
			tb.Fatalf("no demo banner after 30s; output:\n%s", p.Output())
		}
	}
	go func() {
		for range lines {
		}
	}()
	return d
}

var demoSpan = func(id string) *regexp.Regexp {
	return regexp.MustCompile(`id="` + id + `">([^<]*)<`)
}

// demoLogin follows the gateway to the demo provider's form and signs in.
func demoLogin(tb testing.TB, c *http.Client, d *demoRun, path, user string) (int, string) {
	tb.Helper()
	status, page, resp := get(tb, c, d.URL+path)
	m := loginIDField.FindStringSubmatch(page)
	if status != 200 || m == nil {
		tb.Fatalf("want the demo login form, got %d at %s:\n%s", status, resp.Request.URL, page)
	}
	form := url.Values{"id": {m[1]}, "username": {user}, "password": {d.Users[user]}}
	login := resp.Request.URL.ResolveReference(&url.URL{Path: "/login"})
	req, _ := http.NewRequest("POST", login.String(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b := new(strings.Builder)
	_, _ = io.Copy(b, resp.Body)
	return resp.StatusCode, b.String()
}

func TestDemo(t *testing.T) {
	d := startDemo(t)
	if _, ok := d.Users["alice"]; !ok {
		t.Fatalf("banner users %v lack alice", d.Users)
	}

	t.Run("admin sees the admin page", func(t *testing.T) {
		c := browser(t)
		status, page := demoLogin(t, c, d, "/admin/", "alice")
		if status != 200 {
			t.Fatalf("alice on /admin/: %d\n%s", status, page)
		}
		if m := demoSpan("user").FindStringSubmatch(page); m == nil || m[1] == "" {
			t.Errorf("upstream page shows no user:\n%s", page)
		}
		if m := demoSpan("groups").FindStringSubmatch(page); m == nil || !strings.Contains(m[1], "admins") {
			t.Errorf("groups not shown as admins: %v", m)
		}
		// Sign out: the next navigation goes back to the login form.
		status, _, _ = get(t, c, d.URL+"/oauth2/sign_out")
		if status != 200 {
			t.Fatalf("sign-out ended with %d", status)
		}
		_, page, resp := get(t, c, d.URL+"/")
		if !loginIDField.MatchString(page) {
			t.Errorf("after sign-out, / did not ask for login again (at %s)", resp.Request.URL)
		}
	})

	t.Run("non-admin gets a clear 403", func(t *testing.T) {
		c := browser(t)
		status, page := demoLogin(t, c, d, "/admin/", "bob")
		if status != 403 || !strings.Contains(page, "admins") {
			t.Fatalf("bob on /admin/: %d\n%s", status, page)
		}
		status, page, _ = get(t, c, d.URL+"/")
		if status != 200 || !strings.Contains(page, "bob") {
			t.Errorf("bob on /: %d", status)
		}
	})

	t.Run("wrong password issues no session", func(t *testing.T) {
		c := browser(t)
		saved := d.Users["bob"]
		d2 := *d
		d2.Users = map[string]string{"bob": saved + "x"}
		status, page := demoLogin(t, c, &d2, "/", "bob")
		if status != 401 || !loginIDField.MatchString(page) || !strings.Contains(page, "Wrong username or password") {
			t.Fatalf("wrong password: %d, want 401 and the form again", status)
		}
	})
}
