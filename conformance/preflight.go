package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// NotJudgedError is Run's error when the implementation could not be judged:
// a pre-flight check failed, the known-failing list names no selected
// scenario, or the run was interrupted. Reason is one line saying what is
// wrong and what to do. `ensmock conform` exits 2 for it (as for any other
// error of Run), never 1: 1 is a verdict.
type NotJudgedError struct {
	// Check is what stopped the run: "target" (unreachable, or not an ENS
	// endpoint), "credentials", "clock" (skew beyond the 15-minute window, or
	// a manual clock without a control plane), "control" (the control plane),
	// "files" (the target cannot download the runner's data files),
	// "known-failing", or "interrupted".
	Check  string
	Reason string
}

func (e *NotJudgedError) Error() string { return "not judged: " + e.Reason }

func notJudged(check, format string, args ...any) *NotJudgedError {
	return &NotJudgedError{Check: check, Reason: fmt.Sprintf(format, args...)}
}

// preflightTimeout bounds each request of the pre-flight check, so that a
// target that swallows connections stops the run within seconds.
const preflightTimeout = 8 * time.Second

// timestampWindow is the documented tolerance between a request's timestamp
// and the server's time (https://help.aliyun.com/document_detail/48054.html).
const timestampWindow = 15 * time.Minute

// authCodes are the gateway's answers to credentials it does not accept
// (docs/conformance.md, "Pre-flight").
var authCodes = map[string]string{
	"InvalidAccessKeyId.NotFound":  "the target does not know the AccessKeyId %q",
	"InvalidAccessKeyId":           "the target does not know the AccessKeyId %q",
	"InvalidAccessKeyId.Inactive":  "the AccessKeyId %q is disabled",
	"SignatureDoesNotMatch":        "the target refuses the signature of AccessKeyId %q: wrong AccessKeySecret",
	"IncompleteSignature":          "the target finds the signature of AccessKeyId %q incomplete",
	"NoPermission":                 "the AccessKeyId %q may not call DescribeDataPushResult",
	"Forbidden.RAM":                "the AccessKeyId %q may not call DescribeDataPushResult",
	"InvalidSecurityToken.Expired": "the security token of AccessKeyId %q has expired",
}

// preflight checks, before any scenario, that the run can judge the target:
// it answers, accepts the credentials and this machine's time, its control
// plane answers (when given; found is then its clock), it is not an ensmock on
// a manual clock without one, and it can download the runner's data files
// (when that shows). Each failure is a *NotJudgedError.
func (s *suite) preflight(ctx context.Context) (found *clockState, err error) {
	if err := s.checkTarget(ctx); err != nil {
		return nil, err
	}
	if s.control != nil {
		st, err := s.checkControl(ctx)
		if err != nil {
			return nil, err
		}
		found = &st
	} else if err := s.checkNotManual(ctx); err != nil {
		return nil, err
	}
	if err := s.checkFiles(ctx); err != nil {
		return found, err
	}
	return found, nil
}

// checkTarget makes one cheap signed call: DescribeDataPushResult of a fresh
// application (or Config.AppID).
func (s *suite) checkTarget(ctx context.Context) error {
	app := s.cfg.AppID
	if app == "" {
		app = "conform-preflight-" + token()
	}
	pctx, cancel := context.WithTimeout(ctx, preflightTimeout)
	defer cancel()
	sent := time.Now()
	ex := s.target.do(pctx, call{Action: "DescribeDataPushResult", Params: url.Values{"AppId": {app}}, Format: "JSON", Cred: s.main})
	if ex.Err != nil {
		if ctx.Err() != nil {
			return notJudged("interrupted", "interrupted before the first scenario")
		}
		return notJudged("target", "the target %s does not answer (%s): start it, or correct --target", s.cfg.Endpoint, shortErr(ex.Err))
	}
	code := ex.Body().Code()
	if code == "InvalidTimeStamp.Expired" {
		return notJudged("clock", "the target refuses this machine's time (InvalidTimeStamp.Expired): its clock is more than 15 minutes from this machine's%s; set both clocks right (NTP)%s",
			skewNote(ex, sent), ensmockClockHint(ex))
	}
	if why, ok := authCodes[code]; ok {
		return notJudged("credentials", why+" (HTTP %d %s): give a key with permission on the ens data actions (--access-key-id, --access-key-secret)", s.cfg.AccessKeyID, ex.Status, code)
	}
	if ex.Status == http.StatusNotFound && ex.Body().Err != nil {
		return notJudged("target", "%s answers HTTP 404 without an API error body: is --target the ENS API endpoint?", s.cfg.Endpoint)
	}
	if d, ok := dateSkew(ex, sent); ok && (d > timestampWindow || d < -timestampWindow) {
		printLine(s.out, fmt.Sprintf("conformance: warning: the target's Date header is %s from this machine's time, yet it accepted the request", d.Round(time.Second)))
	}
	return nil
}

// checkControl reads the control plane's clock.
func (s *suite) checkControl(ctx context.Context) (clockState, error) {
	pctx, cancel := context.WithTimeout(ctx, preflightTimeout)
	defer cancel()
	st, err := s.control.clock(pctx)
	if err == nil {
		return st, nil
	}
	if ctx.Err() != nil {
		return st, notJudged("interrupted", "interrupted before the first scenario")
	}
	var he *httpStatusError
	switch {
	case errors.As(err, &he) && he.Status == http.StatusUnauthorized:
		return st, notJudged("control", "the control plane %s refuses the request (HTTP 401): give its token with --control-token", s.cfg.ControlURL)
	case errors.As(err, &he) && (he.Status == http.StatusNotFound || he.Status == http.StatusMethodNotAllowed):
		return st, notJudged("control", "%s has no ensmock control plane (GET /_ensmock/clock answered HTTP %d): correct --control, or leave it out", s.cfg.ControlURL, he.Status)
	case errors.As(err, &he):
		return st, notJudged("control", "the control plane %s answers GET /_ensmock/clock with HTTP %d: correct --control, or leave it out", s.cfg.ControlURL, he.Status)
	}
	return st, notJudged("control", "the control plane %s does not answer (%s): correct --control, or leave it out", s.cfg.ControlURL, shortErr(err))
}

// checkNotManual asks the target, without a control plane, whether it is an
// ensmock on a manual clock (GET /_ensmock/clock on the API's listener): its
// pushes would then never finish. Any other answer says nothing and passes.
func (s *suite) checkNotManual(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, preflightTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(pctx, http.MethodGet, s.cfg.Endpoint+"/_ensmock/clock", nil)
	if err != nil {
		return nil
	}
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var st clockState
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&st) != nil {
		return nil
	}
	if st.Mode == "manual" {
		return notJudged("clock", "the target is an ensmock on a manual clock and no control plane was given, so its pushes never finish: add --control %s (or start it with --clock real)", s.cfg.Endpoint)
	}
	return nil
}

// checkFiles pushes a small data file the runner serves (the probe that
// region discovery reuses). A target that answers ResultCode 300 without
// having asked for the file could not download it: the files server is not
// reachable from the target. A target that downloads later (or never, in a
// simulation) shows nothing here.
func (s *suite) checkFiles(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, preflightTimeout)
	defer cancel()
	w, err := s.pushProbe(pctx)
	if err != nil {
		return err
	}
	ex := w.last
	var probe dataFile
	if len(w.lastFiles) == 1 {
		probe = w.lastFiles[0]
	}
	if ex.Err != nil {
		if ctx.Err() != nil {
			return notJudged("interrupted", "interrupted before the first scenario")
		}
		if !s.files.Fetched(probe.URL) {
			return notJudged("files", "the target did not answer a push of one 1 KB file (%s) and did not download it from %s: make --files-url an address the target reaches (and --files-addr a listener there)", shortErr(ex.Err), probe.URL)
		}
		return nil // the scenarios judge a slow push
	}
	w.ctx = ctx
	if ex.Status != http.StatusOK {
		return nil // the scenarios judge it; region discovery pushes again
	}
	if rs, err := ex.Body().pushResults(); err == nil && len(rs) == 1 && rs[0].Code == 300 && !s.files.Fetched(probe.URL) {
		return notJudged("files", "the target could not download %s (ResultCode 300, %q): make --files-url an address the target reaches (and --files-addr a listener there)", probe.URL, rs[0].Descrip)
	}
	s.probe = w
	return nil
}

// restoreClock puts the target's clock back to the machine's time in the mode
// (and speed) it had when the run started (POST /_ensmock/clock/reset).
func (s *suite) restoreClock(found clockState) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := s.control.resetClock(ctx, found.Mode)
	if errors.Is(err, errNoReset) {
		printLine(s.out, "conformance: warning: the control plane has no POST /_ensmock/clock/reset (an older ensmock), so the target's clock stays where the run left it: restart the target")
		return
	}
	if err == nil && found.Speed > 0 && found.Speed != 1 {
		err = s.control.setSpeed(ctx, found.Mode, found.Speed)
	}
	if err != nil {
		printLine(s.out, fmt.Sprintf("conformance: warning: could not put the target's clock back (%s): restart the target", shortErr(err)))
		return
	}
	printLine(s.out, fmt.Sprintf("conformance: the target's clock is back on this machine's time (mode %s)", found.Mode))
}

// dateSkew is the target's Date header minus this machine's time when the
// request was sent (to within the round trip).
func dateSkew(ex *exchange, sent time.Time) (time.Duration, bool) {
	if ex.RespHeader == nil {
		return 0, false
	}
	d, err := http.ParseTime(ex.RespHeader.Get("Date"))
	if err != nil {
		return 0, false
	}
	return d.Sub(sent.Truncate(time.Second)), true
}

func skewNote(ex *exchange, sent time.Time) string {
	d, ok := dateSkew(ex, sent)
	if !ok || (d < time.Minute && d > -time.Minute) {
		return ""
	}
	if d > 0 {
		return fmt.Sprintf(" (its Date header is %s ahead)", d.Round(time.Second))
	}
	return fmt.Sprintf(" (its Date header is %s behind)", (-d).Round(time.Second))
}

// ensmockClockHint adds advice for an ensmock target (it names itself in
// X-Ensmock-Detail) that checks timestamps against its own clock.
func ensmockClockHint(ex *exchange) string {
	if ex.RespHeader != nil && ex.RespHeader.Get("X-Ensmock-Detail") != "" {
		return ", or start ensmock with --timestamp-clock wall"
	}
	return ""
}

// shortErr is err on one line, without Go's wrapping of the URL.
func shortErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
