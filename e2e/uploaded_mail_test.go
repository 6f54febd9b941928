package e2e

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// savedMail is an e-mail as a mail client saves it (an .eml file): a
// MIME message whose attachment's name is an RFC 2047 word, as Outlook,
// Gmail and Apple Mail write a name that is not ASCII. Its own
// Content-Disposition line is file content to every multipart parser.
var savedMail = strings.Join([]string{
	"From: Ana <ana@example.com>",
	"Subject: =?UTF-8?B?RmFrdHVyYQ==?=",
	"MIME-Version: 1.0",
	`Content-Type: multipart/mixed; boundary="mail-boundary"`,
	"",
	"--mail-boundary",
	"Content-Type: text/plain; charset=utf-8",
	"",
	"Payment method: card.",
	"--mail-boundary",
	`Content-Type: application/pdf; name="=?UTF-8?B?ZmFrdHVyYQ==?=.pdf"`,
	`Content-Disposition: attachment; filename="=?UTF-8?B?ZmFrdHVyYQ==?=.pdf"`,
	"Content-Transfer-Encoding: base64",
	"",
	"JVBERi0xLjQK",
	"--mail-boundary--",
	"",
}, "\r\n")

// apiNotes is a developer's notes on an API, as a text file: it mentions
// Content-Disposition and, on the next line, name=access_token.
const apiNotes = "To send the token in a form, give its part a Content-Disposition\r\n" +
	"with name=access_token (RFC 6750 section 2.2), or better, a header.\r\n"

// TestUploadedMailReachesApp: a saved e-mail uploaded as a file, from
// Chromium's FormData and curl -F, with CRLF line ends (as Outlook saves
// it) and LF ones (as Thunderbird and mbox tools on Unix do), reaches the
// application on a public and a signed-in route. The gateway counted every
// line of the whole body that mentions Content-Disposition and "method",
// "name*" or "=?" as a part's header, the uploaded file's own lines
// included, and refused an LF one outright: every such upload was a 400
// "a multipart body whose _method part could be read more than one way".
// A text file that mentions Content-Disposition and then name=access_token
// was read as a part's head too, and a signed-in upload of it was a 400
// "access tokens are not accepted in the request body".
func TestUploadedMailReachesApp(t *testing.T) {
	t.Parallel()
	gw := startPublicAndSignedIn(t, uploadApp(t).URL)
	c := browser(t)
	if status, body, _ := get(t, c, gw.URL+"/app/form"); status != http.StatusOK {
		t.Fatalf("sign-in: %d\n%s", status, body)
	}
	ck := sessionCookie(t, c, gw)
	ctx, cancel := context.WithTimeout(newChromium(t), 90*time.Second)
	defer cancel()
	for _, f := range []struct{ name, text string }{
		{"invoice.eml", savedMail}, {"invoice.eml", strings.ReplaceAll(savedMail, "\r\n", "\n")}, {"api-notes.txt", apiNotes},
	} {
		want := `got note="q3 figures" file="` + f.name + `" text=` + strconv.Quote(f.text)
		for _, base := range []string{"/public/", "/app/"} {
			if got := curlUpload(t, gw.URL+base+"receive", ck, f.name, f.text); got != want {
				t.Errorf("curl -F of %s to %s: %q, want %q", f.name, base, got, want)
			}
			if got := chromiumUpload(t, ctx, gw.URL+base, f.name, f.text); got != "200 "+want {
				t.Errorf("Chromium's FormData with %s to %s: %q, want 200 %s", f.name, base, got, want)
			}
		}
	}
}

// curlUpload posts text as the file name with curl -F, the session
// cookie ck and a note, and returns what the application said.
func curlUpload(t *testing.T, u string, ck *http.Cookie, name, text string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("curl", "-sS", "-b", ck.Name+"="+ck.Value, "-F", "note=q3 figures",
		"-F", "file=@"+f, u).CombinedOutput()
	if err != nil {
		t.Fatalf("curl %s: %v\n%s", u, err, out)
	}
	return strings.TrimSpace(string(out))
}

// chromiumUpload opens base's form in Chromium and sends it with a
// FormData holding text as the file name; it returns the status and text.
func chromiumUpload(t *testing.T, ctx context.Context, base, name, text string) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"form"), chromedp.WaitVisible("#ready")); err != nil {
		t.Fatalf("%sform: %v", base, err)
	}
	fetch := `(() => { const fd = new FormData(document.getElementById("up"));
		fd.set("file", new File([` + strconv.Quote(text) + `], ` + strconv.Quote(name) + `));
		return fetch("receive", {method: "POST", body: fd}).then(async r => r.status + " " + (await r.text()).trim()) })()`
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](fetch, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("fetch on %s: %v", base, err)
	}
	return got
}
