package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// startGoApp builds and runs e2e/testdata/NAME, a Go application (a
// module of its own, gin's or echo's) that answers with what it acted on,
// until the test ends, and returns its URL. Building it needs its modules
// in the module cache or the module proxy: without either the test is
// skipped (scripts/test.sh downloads them).
func startGoApp(tb testing.TB, name string) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), name)
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = filepath.Join("testdata", name)
	if out, err := build.CombinedOutput(); err != nil {
		msg := name + ": cannot build testdata/" + name + ": " + err.Error() + "\n" + string(out)
		if testenv.Required() {
			tb.Fatal(msg + " (PORTCULLIS_REQUIRE_TOOLS=1)")
		}
		tb.Skip(msg)
	}
	addr := testenv.Addr(testenv.FreePort(tb))
	cmd := exec.Command(bin, addr)
	cmd.Env = append(os.Environ(), "GIN_MODE=release")
	p := testenv.Start(tb, cmd)
	testenv.WaitTCP(tb, addr, 10*time.Second, p)
	return "http://" + addr
}

// TestGinBindsWhatWasDecided puts a real gin application behind the
// gateway. Its c.ShouldBind fills a struct from a JSON body with Go's
// encoding/json, which matches member names to a field's in any case as
// Unicode folds them: the long s "ſ" is an s and the Kelvin sign "K" a k,
// so {"acceſs_token":…} was bound as the handler's access_token, of a PUT
// as of a POST. The gateway compared names byte for byte in ASCII case
// and let it through; it now reads those letters as s and k (400).
func TestGinBindsWhatWasDecided(t *testing.T) {
	t.Parallel()
	gw, ck := frameworkGateway(t, "gin", startGoApp(t, "gin"), false)
	for _, tc := range []struct {
		method, body string
		want         int
	}{
		{http.MethodPut, `{"access":"x","token":"y"}`, http.StatusOK},
		{http.MethodPut, `{"Access_Token":"tok"}`, http.StatusBadRequest},
		{http.MethodPut, `{"acce` + "\u017f" + `s_token":"tok"}`, http.StatusBadRequest},
		{http.MethodPost, `{"access_to` + "\u212a" + `en":"tok"}`, http.StatusBadRequest},
		{http.MethodPatch, `{"acce\u017f\u017f_token":"tok"}`, http.StatusBadRequest},
	} {
		code, got := askApp(t, tc.method, gw.URL+"/items/1", "application/json", tc.body, ck)
		if code != tc.want {
			t.Errorf("%s %s: %d (gin bound %v); want %d", tc.method, tc.body, code, got.Params, tc.want)
		}
		if tok, _ := got.Params["access_token"].(string); code == http.StatusOK && tok != "" {
			t.Errorf("%s %s: gin bound the access_token %q", tc.method, tc.body, tok)
		}
	}
}
