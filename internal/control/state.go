package control

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/ensmock/ensmock/internal/engine"
)

// statePage is how many data files the state dump copies out of the engine at
// a time (the account's lock is held only while copying one page).
var statePage = 256

// statePageRead, when set (tests), is called after each page is read.
var statePageRead func()

// state streams GET /_ensmock/state: the JSON of engine.State, written account
// by account, app by app, a page of data files at a time, so the answer is
// never built whole in memory (at a million data files it is gigabytes).
// Statuses are those at the dump's "now"; a data file pushed during the dump
// may appear (at the end of its app) or not.
func (h *Handler) state(w http.ResponseWriter, r *http.Request) {
	acct, ok := h.account(w, r, false)
	if !ok {
		return
	}
	eng := h.cfg.Engine
	now := eng.Now()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	var vb bytes.Buffer // one value's JSON, reused
	enc := json.NewEncoder(&vb)
	enc.SetEscapeHTML(false)
	// put writes raw JSON punctuation; value encodes one value. Both stop
	// doing anything once a write failed (the client left).
	var failed bool
	put := func(s string) {
		if !failed {
			_, err := bw.WriteString(s)
			failed = err != nil
		}
	}
	value := func(v any) {
		if failed {
			return
		}
		vb.Reset()
		if failed = enc.Encode(v) != nil; !failed {
			_, err := bw.Write(bytes.TrimSuffix(vb.Bytes(), []byte("\n")))
			failed = err != nil
		}
	}
	put(`{"now":`)
	value(now)
	put(`,"accounts":[`)
	var page []engine.FileState
	for i, a := range eng.StateAccounts(acct) {
		if failed {
			break
		}
		if i > 0 {
			put(",")
		}
		put(`{"account":`)
		value(a)
		put(`,"apps":[`)
		for k, app := range eng.StateApps(a) {
			if k > 0 {
				put(",")
			}
			put(`{"appId":`)
			value(app)
			put(`,"files":[`)
			for from, more := 0, true; more && !failed; {
				page, more = eng.StateFiles(page[:0], a, app, from, statePage, now)
				if statePageRead != nil {
					statePageRead()
				}
				for n := range page {
					if from+n > 0 {
						put(",")
					}
					put("\n") // one data file a line
					value(&page[n])
				}
				from += len(page)
				clear(page) // let the page's strings go before the next is read
			}
			put("]")
			if d := eng.StateAppDetail(a, app, now); d != nil { // applications and distribution
				put(`,"phase":`)
				value(d.Phase)
				put(`,"instances":`)
				value(d.Instances)
				put(`,"dists":`)
				value(d.Dists)
			}
			put("}")
		}
		put("]}")
	}
	put("]}\n")
	_ = bw.Flush()
}
