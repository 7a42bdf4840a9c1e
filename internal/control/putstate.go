package control

import (
	"net/http"

	"github.com/ensmock/ensmock/internal/engine"
)

// maxStateBody bounds a PUT /_ensmock/state body (a state is larger than the
// other control-plane bodies).
const maxStateBody = 64 << 20

// putState answers PUT /_ensmock/state: the body (JSON or YAML, the shape GET
// /_ensmock/state prints) replaces every account's apps, data files and
// replicas — durably with a data dir. A bad body changes nothing.
func (h *Handler) putState(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r, maxStateBody)
	if !ok {
		return
	}
	st, err := engine.ParseState(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad state: %v", err)
		return
	}
	if err := h.cfg.Engine.Load(st); err != nil {
		writeError(w, http.StatusBadRequest, "bad state: %v", err)
		return
	}
	accounts, apps, files := 0, 0, 0
	for _, a := range st.Accounts {
		accounts++
		for _, p := range a.Apps {
			apps++
			files += len(p.Files)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"loaded": map[string]int{"accounts": accounts, "apps": apps, "files": files}})
}
