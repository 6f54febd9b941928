package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// formPostJava posts, for each charset named after the URL and cookie, a
// form encoded in it with Java's own HttpClient and URLEncoder, labelled
// with that charset as Apache HttpClient's UrlEncodedFormEntity and
// Spring's FormHttpMessageConverter label one, and prints the charset and
// the status. A name ending in "+override" also names DELETE in _method.
const formPostJava = `import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.Charset;

public class FormPost {
    public static void main(String[] args) throws Exception {
        HttpClient c = HttpClient.newHttpClient();
        for (int i = 2; i < args.length; i++) {
            String name = args[i].replace("+override", "");
            Charset cs = Charset.forName(name);
            String body = "name=" + URLEncoder.encode("\u65e5\u672c\u8a9e", cs) + "&n=1";
            if (!name.equals(args[i])) body += "&_method=DELETE";
            HttpRequest r = HttpRequest.newBuilder(URI.create(args[0]))
                .header("Content-Type", "application/x-www-form-urlencoded; charset=" + name)
                .header("Cookie", args[1])
                .POST(HttpRequest.BodyPublishers.ofString(body, cs)).build();
            System.out.println(args[i] + " " + c.send(r, HttpResponse.BodyHandlers.discarding()).statusCode());
        }
    }
}
`

// TestFormInLegacyCharsetReachesApp: a Java client's form in Shift_JIS,
// EUC-JP, GBK, Big5, EUC-KR or KOI8-R (each a superset of ASCII: "_method"
// and "access_token" are the same bytes in it, and a framework splits the
// body at "&" and "=" before it decodes) was a 400 "not ASCII-compatible",
// which docs/requests.md keeps for UTF-16 and EBCDIC. It reaches the app,
// and its _method is still decided; a form in UTF-16 or ISO-2022-JP (whose
// escapes switch what the same bytes mean) is still a 400.
func TestFormInLegacyCharsetReachesApp(t *testing.T) {
	t.Parallel()
	java := testenv.LookPath(t, "java")
	src := filepath.Join(t.TempDir(), "FormPost.java")
	if err := os.WriteFile(src, []byte(formPostJava), 0o644); err != nil {
		t.Fatal(err)
	}
	p := oidctest.New(t, oidctest.Options{})
	up := newUpstream(t)
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, up.URL, "",
		"[[routes]]\npath = \"/items/**\"\nmethods = [\"DELETE\"]\nallow_groups = [\"writers\"]\n\n[[routes]]\npath = \"/**\"\n"))
	c := browser(t)
	loginThrough(t, c, gw, "alice")
	ck := sessionCookie(t, c, gw)
	want := map[string]int{"Shift_JIS": 200, "windows-31j": 200, "EUC-JP": 200, "GBK": 200, "GB2312": 200,
		"GB18030": 200, "Big5": 200, "EUC-KR": 200, "KOI8-R": 200, "Shift_JIS+override": http.StatusForbidden,
		"GBK+override": http.StatusForbidden, "UTF-16": http.StatusBadRequest, "ISO-2022-JP": http.StatusBadRequest}
	args := []string{src, gw.URL + "/items/1", ck.Name + "=" + ck.Value}
	for name := range want {
		args = append(args, name)
	}
	before := up.count()
	out, err := exec.Command(java, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("java: %v\n%s", err, out)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		name, status, _ := strings.Cut(line, " ")
		got[name] = status
	}
	forwarded := 0
	for name, status := range want {
		if got[name] != strconv.Itoa(status) {
			t.Errorf("Java's form POST in %s: %s, want %d", name, got[name], status)
		}
		forwarded += btoi(status == http.StatusOK)
	}
	if n := up.count() - before; n != forwarded {
		t.Errorf("the app received %d forms, want %d", n, forwarded)
	}
}
