package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/portcullis/portcullis/internal/testenv"
)

// chromiumSlots bounds how many Chromiums run at once. The tests that drive
// one run in parallel, and a browser is heavy on the test machine's 2 cores
// beside the parallel tests that wait for a clock: newChromiumIn takes a
// slot before it starts one and the test's cleanup gives it back once the
// browser has exited. The wait for a slot comes before the browser exists,
// so it eats none of a step's deadline. A test takes one browser, never one
// in a test whose parallel subtests take one each (it would hold a slot
// they wait for): takeChromiumSlot fails a test that breaks the rule
// rather than let it wait forever.
var chromiumSlots = make(chan struct{}, 2)

// chromiumHolders are the names of the tests that hold a slot.
var chromiumHolders = struct {
	sync.Mutex
	names map[string]bool
}{names: map[string]bool{}}

// takeChromiumSlot waits for a slot for tb's browser and gives it back at
// tb's cleanup. A test that already holds one, or whose parent test does,
// fails at once: two such waits can hold both slots and wait on each other.
func takeChromiumSlot(tb testing.TB) {
	tb.Helper()
	name := tb.Name()
	chromiumHolders.Lock()
	for held := range chromiumHolders.names {
		if held == name || strings.HasPrefix(name, held+"/") {
			chromiumHolders.Unlock()
			tb.Fatalf("%s would start a second Chromium while %s holds one: one browser per test", name, held)
		}
	}
	chromiumHolders.Unlock()
	chromiumSlots <- struct{}{}
	chromiumHolders.Lock()
	chromiumHolders.names[name] = true
	chromiumHolders.Unlock()
	tb.Cleanup(func() {
		chromiumHolders.Lock()
		delete(chromiumHolders.names, name)
		chromiumHolders.Unlock()
		<-chromiumSlots
	})
}

// newChromium starts a headless Chromium (Debian's) for one test.
func newChromium(tb testing.TB) context.Context {
	tb.Helper()
	return newChromiumIn(tb, tb.TempDir())
}

// newChromiumIn is newChromium with the profile in dir, which the test may
// have prepared (Default/Preferences), and more options (flags).
func newChromiumIn(tb testing.TB, dir string, more ...chromedp.ExecAllocatorOption) context.Context {
	tb.Helper()
	path := testenv.LookPath(tb, "chromium")
	takeChromiumSlot(tb) // its cleanup runs after the browser's below
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(dir),
	}
	opts = append(opts, more...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	tb.Cleanup(func() { cancel(); cancelAlloc() })
	return ctx
}

// TestDemoInChromium logs in to the demo through a real browser and reads the
// identity the demo upstream received.
func TestDemoInChromium(t *testing.T) {
	t.Parallel()
	d := startDemo(t)
	ctx := newChromium(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(d.URL+"/")); err != nil {
		t.Fatalf("navigate: %v\n%s", err, d.Proc.Output())
	}
	step, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := chromedp.Do(step,
		chromedp.WaitVisible("#username"),
		chromedp.SendKeys("#username", "alice"),
		chromedp.SendKeys("#password", d.Users["alice"]),
		chromedp.Click("#submit"),
		chromedp.WaitVisible("#user"),
	)
	if err != nil {
		t.Fatalf("login in the browser: %v\n%s", err, d.Proc.Output())
	}
	user, err := chromedp.Run(step, chromedp.Text("#user"))
	if err != nil || user == "" {
		t.Fatalf("#user = %q, %v", user, err)
	}
	email, _ := chromedp.Run(step, chromedp.Text("#email"))
	if !strings.HasSuffix(email, "@example.com") {
		t.Errorf("#email = %q, want alice's example.com address", email)
	}
	loc, _ := chromedp.Run(step, chromedp.Location())
	if !strings.HasPrefix(loc, d.URL+"/") {
		t.Errorf("browser ended at %s, want the gateway", loc)
	}
	// The admin page opens for alice.
	if err := chromedp.Do(step, chromedp.Navigate(d.URL+"/admin/"), chromedp.WaitVisible("#path")); err != nil {
		t.Fatalf("admin page: %v", err)
	}
	path, _ := chromedp.Run(step, chromedp.Text("#path"))
	if path != "/admin/" {
		t.Errorf("#path = %q on the admin page", path)
	}
	// The page's "Sign out" link signs out through the provider and back
	// (the home page then asks for a login again), and alice signs in anew.
	err = chromedp.Do(step,
		chromedp.Click(`a[href="/oauth2/sign_out"]`),
		chromedp.WaitVisible("#username"),
		chromedp.SendKeys("#username", "alice"),
		chromedp.SendKeys("#password", d.Users["alice"]),
		chromedp.Click("#submit"),
		chromedp.WaitVisible("#user"),
	)
	if err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("sign out and in again: %v (at %s)\n%s", err, loc, d.Proc.Output())
	}
}
