package engine

// The state as a whole: its dump (Snapshot, the shape of GET /_ensmock/state)
// and Reset.

import (
	"math"
	"time"
)

// Reset forgets the state of one account, or of every account when acct is "".
func (e *Engine) Reset(acct string) {
	var durable uint64
	defer e.waitDurable(&durable)
	e.mu.Lock()
	defer e.mu.Unlock()
	durable = e.persistReset(acct)
	if acct == "" {
		e.accounts = map[string]*account{}
		return
	}
	delete(e.accounts, acct)
}

// State is a JSON-ready dump of the engine, for the control plane.
type State struct {
	Now      time.Time      `json:"now"`
	Accounts []AccountState `json:"accounts"`
}

// AccountState is one account's apps.
type AccountState struct {
	Account string     `json:"account"`
	Apps    []AppState `json:"apps"`
}

// AppState is one app's data files.
type AppState struct {
	AppID string      `json:"appId"`
	Files []FileState `json:"files"`

	*AppDetail // phase, instances and distributions (applications.go); nil for a bare app never distributed to
}

// FileState is one data file and its replicas.
type FileState struct {
	DataFile
	FirstPush time.Time      `json:"firstPush"`
	Attempts  int            `json:"attempts"`
	Fetched   bool           `json:"fetched"`
	Replicas  []ReplicaState `json:"replicas"`
}

// ReplicaState is one replica of a data file on one file server.
type ReplicaState struct {
	Server  string    `json:"server"`
	Region  string    `json:"region"`
	Status  string    `json:"status"`
	Descrip string    `json:"descrip"`
	Attempt int       `json:"attempt"`
	Start   time.Time `json:"start"`
	Done    time.Time `json:"done"`
	// Fail is the failure the transfer ends with (also while PUSHING); "" for success.
	Fail string `json:"fail,omitempty"`
}

// Snapshot dumps one account (or all when acct is ""), sorted for stable
// output: the paged reads of dump.go, gathered whole.
func (e *Engine) Snapshot(acct string) State {
	now := e.cfg.Clock.Now()
	st := State{Now: now, Accounts: []AccountState{}}
	for _, n := range e.StateAccounts(acct) {
		as := AccountState{Account: n, Apps: []AppState{}}
		for _, id := range e.StateApps(n) {
			files, _ := e.StateFiles([]FileState{}, n, id, 0, math.MaxInt, now)
			as.Apps = append(as.Apps, AppState{AppID: id, Files: files, AppDetail: e.StateAppDetail(n, id, now)})
		}
		st.Accounts = append(st.Accounts, as)
	}
	return st
}
