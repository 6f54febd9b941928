package proxy

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
)

// deadlineProvider records how long the directory read at groups_refresh
// may take.
type deadlineProvider struct {
	*directoryProvider
	left time.Duration
}

func (p *deadlineProvider) DirectoryGroups(ctx context.Context, id *portcullis.Identity, at string) ([]string, error) {
	if d, ok := ctx.Deadline(); ok {
		p.left = time.Until(d)
	}
	return p.directoryProvider.DirectoryGroups(ctx, id, at)
}

// TestGroupsRefreshReadIsBoundedAsARefresh: a directory read at
// groups_refresh, which the session's request waits on, has refreshTimeout
// (5 s), not the 15 s of a read at sign-in (docs/operations.md#directory-throttling
// says which). Found by review JQ: the docs gave every read 15 s.
func TestGroupsRefreshReadIsBoundedAsARefresh(t *testing.T) {
	f, dp := directoryFixture(t)
	p := &deadlineProvider{directoryProvider: dp}
	f.cfg.Provider = p
	var err error
	if f.h, err = New(f.cfg); err != nil {
		t.Fatal(err)
	}
	s := f.session()
	s.GroupsReadAt = f.clock.Now()
	cookies := f.cookies(t, s)
	dp.set([]string{"admins"}, nil)
	f.clock.Advance(11 * time.Minute)
	if resp := f.do(t, "GET", "/admin/x", nil, withCookies(cookies)); resp.StatusCode != http.StatusOK || dp.count() != 1 {
		t.Fatalf("status %d, %d reads", resp.StatusCode, dp.count())
	}
	if p.left <= 0 || p.left > refreshTimeout {
		t.Errorf("the read had %v left; want at most refreshTimeout (%v)", p.left, refreshTimeout)
	}
}
