package engine

import (
	"context"
	"strings"
	"sync"
	"testing"
)

// budgetFetcher records the budget each download is given and returns content
// of the declared size (or 5 bytes).
type budgetFetcher struct {
	mu      sync.Mutex
	budgets map[string]int64
	hold    chan struct{} // when set, downloads wait for it
	started chan struct{}
}

func (f *budgetFetcher) Fetch(ctx context.Context, df DataFile) (*Blob, error) {
	b, ok := FetchBudget(ctx)
	if !ok {
		b = -1
	}
	f.mu.Lock()
	f.budgets[df.Name] = b
	f.mu.Unlock()
	if f.hold != nil {
		f.started <- struct{}{}
		<-f.hold
	}
	n := df.Size
	if n <= 0 {
		n = 5
	}
	return &Blob{Data: make([]byte, n)}, nil
}

// TestFetchReservesTheAccountBudgetFirst: the budget is reserved before the
// download (declared size, else a source's cap, else what is left); a declared
// size beyond what is left is refused without downloading; a download in
// progress holds its reservation against a concurrent push.
func TestFetchReservesTheAccountBudgetFirst(t *testing.T) {
	ff := &budgetFetcher{budgets: map[string]int64{}}
	e, _ := newEngine(t, func(c *Config) { c.Fetcher = ff; c.MaxFetchedBytesPerAccount = 100; c.MaxFetchBytes = 30 })
	rs := push(t, e, nil, dataFile("a", 60), dataFile("unknown", 0), dataFile("big", 50))
	if rs[0].Code != CodeStarted || rs[1].Code != CodeStarted {
		t.Fatalf("%+v", rs)
	}
	if rs[2].Code != CodeFailed || !strings.Contains(rs[2].Descrip, "would exceed 100 bytes") {
		t.Fatalf("a declared size over what is left: %+v", rs[2])
	}
	if ff.budgets["a"] != 60 || ff.budgets["unknown"] != 30 {
		t.Fatalf("budgets %v, want a:60 unknown:30", ff.budgets)
	}
	if _, fetched := ff.budgets["big"]; fetched {
		t.Fatal("a source over the budget was downloaded")
	}
	// 65 bytes are held (60 + 5): 35 are left; an unknown size gets min(30, 35).
	push(t, e, nil, dataFile("u2", 0))
	if ff.budgets["u2"] != 30 {
		t.Fatalf("budgets %v", ff.budgets)
	}

	// A download in progress holds its reservation.
	ff2 := &budgetFetcher{budgets: map[string]int64{}, hold: make(chan struct{}), started: make(chan struct{}, 1)}
	e2, _ := newEngine(t, func(c *Config) { c.Fetcher = ff2; c.MaxFetchedBytesPerAccount = 100 })
	done := make(chan []PushResult)
	go func() {
		rs, _ := e2.Push(context.Background(), "acct", "app", []DataFile{dataFile("first", 70)}, nil)
		done <- rs
	}()
	<-ff2.started
	rs, err := e2.Push(context.Background(), "acct", "app", []DataFile{dataFile("second", 40)}, nil)
	if err != nil || rs[0].Code != CodeFailed || !strings.Contains(rs[0].Descrip, "would exceed") {
		t.Fatalf("a push while 70 of 100 bytes are reserved: %+v %v", rs, err)
	}
	close(ff2.hold)
	if rs := <-done; rs[0].Code != CodeStarted {
		t.Fatalf("%+v", rs)
	}
}

// TestRacingPushesShareTheReservation: pushes of one data file that race
// while it downloads share its reservation (and, in the fetcher, its
// download): a second push of a 70-byte file in a 100-byte budget is not
// refused for want of budget.
func TestRacingPushesShareTheReservation(t *testing.T) {
	ff := &budgetFetcher{budgets: map[string]int64{}, hold: make(chan struct{}), started: make(chan struct{}, 2)}
	e, _ := newEngine(t, func(c *Config) { c.Fetcher = ff; c.MaxFetchedBytesPerAccount = 100 })
	results := make(chan []PushResult, 2)
	pushOne := func() {
		rs, _ := e.Push(context.Background(), "acct", "app", []DataFile{dataFile("same", 70)}, nil)
		results <- rs
	}
	go pushOne()
	<-ff.started
	go pushOne()
	select {
	case <-ff.started: // the second push downloads too (the fetcher shares it)
	case rs := <-results:
		t.Fatalf("the racing push did not wait for the download: %+v", rs)
	}
	close(ff.hold)
	codes := map[int]int{}
	for range 2 {
		rs := <-results
		codes[rs[0].Code]++
	}
	if codes[CodeStarted] != 1 || codes[CodePushing] != 1 {
		t.Fatalf("codes %v, want one 0 and one 200", codes)
	}
	a := e.account("acct", false)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.reserved != 0 || len(a.fetching) != 0 || a.blobBytes != 70 {
		t.Fatalf("reserved %d fetching %v kept %d", a.reserved, a.fetching, a.blobBytes)
	}
}
