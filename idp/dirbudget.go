package idp

import (
	"sync"
	"time"
)

// A user's own directory reads are budgeted, per replica: at most
// userReadsPerWindow in UserReadWindow. Google's service account reads for
// every user from one quota (and Graph's limits are per app and tenant
// too), so without a budget one account that signed in again and again
// (each sign-in is a read), or kept many sessions, spent the quota until
// the directory throttled and every user's sign-in failed for up to an
// hour. Over its budget only that user waits; everyone else reads on.
const (
	userReadsPerWindow = 10
	// maxBudgetUsers bounds the users remembered. A full table pruned of
	// ended windows that is still full budgets no new user: many accounts
	// at once are bounded by the directory's throttle, not here.
	maxBudgetUsers = 10000
)

// UserReadWindow is the window of a user's read budget: past the budget,
// a read is possible again at most this long after the window started.
const UserReadWindow = time.Minute

// readWindow is one user's reads in the window that started at start.
type readWindow struct {
	start time.Time
	n     int
}

// readBudget counts each user's directory reads.
type readBudget struct {
	mu    sync.Mutex
	users map[string]readWindow
	now   func() time.Time
}

func newReadBudget(now func() time.Time) *readBudget {
	return &readBudget{users: map[string]readWindow{}, now: now}
}

// take spends one read of user's budget. It reports false, with the time
// the user's window ends, when the budget is spent: no read is made. A
// user without a name has no budget: one shared by every such user would
// be the shared quota again, in the gateway.
func (b *readBudget) take(user string) (time.Time, bool) {
	if user == "" {
		return time.Time{}, true
	}
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	w, ok := b.users[user]
	if !ok || now.Sub(w.start) >= UserReadWindow {
		w = readWindow{start: now}
	}
	if w.n >= userReadsPerWindow {
		return w.start.Add(UserReadWindow), false
	}
	w.n++
	if !ok && len(b.users) >= maxBudgetUsers {
		b.prune(now)
	}
	if ok || len(b.users) < maxBudgetUsers {
		b.users[user] = w
	}
	return time.Time{}, true
}

// prune drops the windows that ended before now.
func (b *readBudget) prune(now time.Time) {
	for k, w := range b.users {
		if now.Sub(w.start) >= UserReadWindow {
			delete(b.users, k)
		}
	}
}
