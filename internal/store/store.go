// Package store keeps the mock's state in a data directory (--data-dir): an
// embedded bbolt database (go.etcd.io/bbolt, a single file with copy-on-write
// B+trees and fsync'ed transactions; docs/decisions.md says why). It keeps the
// inputs from which every status is computed, never a running process:
// applications, data files as declared, per file server the start, end and
// failure reason of each replica, fault rules and the clock's setting, and
// what the workflow actions add (persist_apps.go): templates, instances,
// distributions and deleted AppIds.
//
// Changes are queued in order and committed by one goroutine in groups: a
// caller gets a ticket when it queues a change and Wait(ticket) returns once a
// transaction holding it (and everything queued before it) is on disk. The
// mock answers a request only after that, so an acknowledged change survives
// a crash; a change whose answer was not sent may or may not.
package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/ensmock/ensmock/internal/engine"
	"github.com/ensmock/ensmock/internal/faults"
	"github.com/ensmock/ensmock/mock/clock"
)

// FileName is the database file inside the data directory.
const FileName = "ensmock.db"

// Schema is the layout this ensmock writes. Schema 2 added the buckets of
// the workflow actions (appext, dists, gone, seqs); a store of schema 1 is
// opened and upgraded in place by adding them (empty: schema 1 kept no such
// state) and recording schema 2, so that an older ensmock, which would ignore
// them and load the state half, refuses it. A store of any other schema is
// refused, never converted or overwritten.
const Schema = 2

// schemaAddedBuckets is the schema that can be upgraded to Schema by adding
// the buckets of bNew.
const schemaAddedBuckets = 1

var (
	bMeta   = []byte("meta")
	bApps   = []byte("apps")
	bFiles  = []byte("files")
	bBlobs  = []byte("blobs")
	kSchema = []byte("schema")
	kWriter = []byte("writer")
	kServer = []byte("servers") // the file server dictionary of the records (codec.go)
	kClock  = []byte("clock")
	kFaults = []byte("faults")

	// schema 2 (persist_apps.go)
	bExt   = []byte("appext") // key(account, app) → the app's template, instances, deletion
	bDists = []byte("dists")  // key(account, app, name, version) → one distributed file
	bGone  = []byte("gone")   // key(account, app) → when the deletion completed
	bSeqs  = []byte("seqs")   // key(account) → the account's AppId counter
	bNew   = [][]byte{bExt, bDists, bGone, bSeqs}
	// bState are the buckets of the engine's state, emptied by Reset.
	bState = [][]byte{bApps, bFiles, bBlobs, bExt, bDists, bGone, bSeqs}
)

// ErrRefused wraps every reason a data directory is not opened (another
// schema, a corrupt file, one in use): the caller exits, changing nothing.
var ErrRefused = errors.New("store refused")

// Options configure Open.
type Options struct {
	// Version is the ensmock version, recorded when the store is created.
	Version string
	Logger  *slog.Logger
	// OnFatal is called once when a commit fails: the memory state is then
	// ahead of the disk, and no further change is acknowledged. Default: log.
	OnFatal func(error)
	// LockTimeout bounds the wait for another process's lock on the file (default 1s).
	LockTimeout time.Duration
}

// Loaded is what a store held when it was opened.
type Loaded struct {
	Fresh     bool // the store was created by this Open
	Apps      []engine.AppKey
	Files     []*engine.FileRecord
	Faults    []faults.Rule
	HasFaults bool // a fault list was saved (possibly empty)
	Clock     *clock.Saved
	AppExt    engine.AppRecords // the workflow actions' state (persist_apps.go)
	Upgraded  bool              // the store was of schema 1 and was upgraded
}

// Store is an open data directory, safe for concurrent use.
type Store struct {
	db   *bolt.DB
	opts Options
	dict dictionary // file server ids ↔ the numbers records use; the loop's own

	mu        sync.Mutex
	work      *sync.Cond // the commit loop waits on it for changes
	cond      *sync.Cond // Wait waits on it for commits
	queue     []op
	enqueued  uint64
	committed uint64
	err       error // sticky: the first failed commit
	closing   bool
	stopped   bool // the commit loop has returned
	done      chan struct{}
}

// op is one queued change, applied in order inside a write transaction.
type op interface {
	apply(s *Store, tx *bolt.Tx) error
}

// Open opens (or creates) the store in dir and reads everything in it. A file
// of another schema, a corrupt one, or one another process holds is refused
// with an error wrapping ErrRefused, and left as it is.
func Open(dir string, o Options) (st *Store, ld *Loaded, err error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = time.Second
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("%w: data dir %s: %v", ErrRefused, dir, err)
	}
	path := filepath.Join(dir, FileName)
	refuse := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: "+format, append([]any{ErrRefused, path}, args...)...)
	}
	// bbolt panics on some damaged pages: a damaged file is refused, not a crash.
	defer func() {
		if p := recover(); p != nil {
			if st != nil {
				_ = st.db.Close()
			}
			st, ld, err = nil, nil, refuse("the file is corrupt (%v); it was left untouched: restore a backup or start with an empty --data-dir", p)
		}
	}()
	// NoFreelistSync (as etcd runs bbolt): the free-page list is not written at
	// each commit but rebuilt by a scan when the file is opened, which saves a
	// page write per commit; the hashmap freelist keeps that scan fast.
	db, err := bolt.Open(path, 0o644, &bolt.Options{Timeout: o.LockTimeout, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, nil, refuse("another process (another ensmock?) holds it open")
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
		return nil, nil, refuse("not a readable ensmock store (%v): corrupt, or another kind of file; it was left untouched", err)
	case err != nil:
		return nil, nil, refuse("%v", err)
	}
	st = &Store{db: db, opts: o, done: make(chan struct{})}
	st.cond = sync.NewCond(&st.mu)
	st.work = sync.NewCond(&st.mu)
	ld, err = st.load(refuse)
	if err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	go st.loop()
	return st, ld, nil
}

// load checks the schema and the file's integrity and decodes everything, or
// initialises an empty file.
func (s *Store) load(refuse func(string, ...any) error) (*Loaded, error) {
	ld := &Loaded{}
	empty := true
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
	})
	if err != nil {
		return nil, refuse("%v", err)
	}
	if empty {
		ld.Fresh = true
		err := s.db.Update(func(tx *bolt.Tx) error {
			for _, b := range append([][]byte{bMeta}, bState...) {
				if _, err := tx.CreateBucket(b); err != nil {
					return err
				}
			}
			m := tx.Bucket(bMeta)
			if err := m.Put(kSchema, []byte(fmt.Sprint(Schema))); err != nil {
				return err
			}
			return m.Put(kWriter, []byte(s.opts.Version))
		})
		if err != nil {
			return nil, refuse("initialising: %v", err)
		}
		return ld, nil
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bMeta)
		if m == nil || m.Get(kSchema) == nil {
			return refuse("it has no ensmock schema key: not an ensmock store; it was left untouched")
		}
		got := string(m.Get(kSchema))
		if got == fmt.Sprint(schemaAddedBuckets) {
			ld.Upgraded = true
		} else if got != fmt.Sprint(Schema) {
			return refuse("written with store schema %s by ensmock %q; this ensmock reads schemas %d and %d only. It was left untouched: use the ensmock that wrote it, or an empty --data-dir", got, m.Get(kWriter), schemaAddedBuckets, Schema)
		}
		need := [][]byte{bApps, bFiles, bBlobs}
		if !ld.Upgraded {
			need = bState
		}
		for _, b := range need {
			if tx.Bucket(b) == nil {
				return refuse("the bucket %q is missing: corrupt; it was left untouched", b)
			}
		}
		var problems []string
		for e := range tx.Check() {
			problems = append(problems, e.Error())
			if len(problems) == 5 {
				break
			}
		}
		if len(problems) > 0 {
			return refuse("the file is corrupt (%s); it was left untouched: restore a backup or start with an empty --data-dir", problems)
		}
		if v := m.Get(kClock); v != nil {
			var c clock.Saved
			if err := json.Unmarshal(v, &c); err != nil {
				return refuse("the saved clock is unreadable (%v): corrupt", err)
			}
			ld.Clock = &c
		}
		if v := m.Get(kFaults); v != nil {
			ld.HasFaults = true
			var list struct{ Faults []json.RawMessage }
			if err := json.Unmarshal(v, &list); err != nil {
				return refuse("the saved fault rules are unreadable (%v): corrupt", err)
			}
			if len(list.Faults) > 0 {
				rules, _, err := faults.DecodeJSON(v)
				if err != nil {
					return refuse("the saved fault rules are unreadable (%v): corrupt", err)
				}
				ld.Faults = rules
			}
		}
		err := tx.Bucket(bApps).ForEach(func(k, _ []byte) error {
			parts, ok := splitKey(k, 2)
			if !ok {
				return refuse("an application key is malformed: corrupt")
			}
			ld.Apps = append(ld.Apps, engine.AppKey{Account: parts[0], App: parts[1]})
			return nil
		})
		if err != nil {
			return err
		}
		if err := s.dict.load(m.Get(kServer)); err != nil {
			return refuse("the file server dictionary is unreadable: corrupt")
		}
		if !ld.Upgraded {
			if err := loadAppExt(tx, &ld.AppExt); err != nil {
				return refuse("%v: corrupt", err)
			}
		}
		blobs := tx.Bucket(bBlobs)
		return tx.Bucket(bFiles).ForEach(func(k, v []byte) error {
			r, err := s.dict.decodeRecord(v)
			if err != nil {
				return refuse("a data file record is unreadable (%v): corrupt", err)
			}
			if want := fileKey(r); !bytes.Equal(k, want) {
				return refuse("a data file record does not match its key: corrupt")
			}
			if b := blobs.Get(k); b != nil {
				blob, err := decodeBlob(b)
				if err != nil {
					return refuse("fetched content of %q %q is unreadable: corrupt", r.Name, r.Version)
				}
				r.Blob = blob
			}
			ld.Files = append(ld.Files, r)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if ld.Upgraded {
		err := s.db.Update(func(tx *bolt.Tx) error {
			for _, b := range bNew {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return err
				}
			}
			return tx.Bucket(bMeta).Put(kSchema, []byte(fmt.Sprint(Schema)))
		})
		if err != nil {
			return nil, refuse("upgrading schema %d to %d: %v", schemaAddedBuckets, Schema, err)
		}
		s.opts.Logger.Info("the data dir was upgraded", "from", schemaAddedBuckets, "to", Schema)
	}
	return ld, nil
}

// Close commits what is queued and closes the file.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		<-s.done
		return nil
	}
	s.closing = true
	s.work.Signal()
	s.mu.Unlock()
	<-s.done
	return s.db.Close()
}

// Path is the database file.
func (s *Store) Path() string { return s.db.Path() }

func (s *Store) enqueue(o op) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.enqueued++
	s.queue = append(s.queue, o)
	if len(s.queue) == 1 {
		s.work.Signal() // only the loop waits for work; Wait()ers are woken by commits
	}
	return s.enqueued
}

// Wait returns once the change of ticket t is durable, or the error that
// stopped the store.
func (s *Store) Wait(t uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.committed < t && s.err == nil && !s.stopped {
		s.cond.Wait()
	}
	if s.committed >= t {
		return nil
	}
	if s.err != nil {
		return s.err
	}
	return errors.New("store: closed before the change was committed")
}

// loop commits the queue in groups: while one transaction is being written,
// the next changes pile up and go into the next one.
func (s *Store) loop() {
	defer close(s.done)
	defer func() {
		s.mu.Lock()
		s.stopped = true
		s.cond.Broadcast()
		s.mu.Unlock()
	}()
	for {
		s.mu.Lock()
		for len(s.queue) == 0 && !s.closing {
			s.work.Wait()
		}
		if len(s.queue) == 0 || s.err != nil {
			s.mu.Unlock()
			return
		}
		batch, last := s.queue, s.enqueued
		s.queue = nil
		s.mu.Unlock()

		err := s.db.Update(func(tx *bolt.Tx) error {
			for _, o := range batch {
				if err := o.apply(s, tx); err != nil {
					return err
				}
			}
			return s.dict.flush(tx)
		})

		s.mu.Lock()
		if err != nil {
			s.err = fmt.Errorf("store: commit to %s failed: %w", s.db.Path(), err)
		} else {
			s.committed = last
		}
		s.cond.Broadcast()
		s.mu.Unlock()
		if err != nil {
			// fsync failures are not retried: after one, what is on disk is
			// unknown (the lesson of PostgreSQL's "fsyncgate"). Stop.
			s.opts.Logger.Error("the data dir cannot be written; no further change is acknowledged", "err", err)
			if s.opts.OnFatal != nil {
				s.opts.OnFatal(s.err)
			}
			return
		}
	}
}

// ---- changes ----------------------------------------------------------------

// SaveFile queues the whole record of one data file (and its app).
func (s *Store) SaveFile(r *engine.FileRecord) uint64 { return s.enqueue(fileOp{r}) }

// SaveApp queues a registered application.
func (s *Store) SaveApp(acct, app string) uint64 { return s.enqueue(appOp{acct, app}) }

// Reset queues forgetting one account, or every account when acct is "".
func (s *Store) Reset(acct string) uint64 { return s.enqueue(resetOp{acct}) }

// Replace queues replacing every account with apps and files.
func (s *Store) Replace(apps []engine.AppKey, files []*engine.FileRecord) uint64 {
	return s.enqueue(replaceOp{apps, files})
}

// SaveFaults queues the fault rules in force.
func (s *Store) SaveFaults(rules []faults.Rule) uint64 { return s.enqueue(faultsOp{rules}) }

// SaveClock queues the clock's setting.
func (s *Store) SaveClock(c clock.Saved) uint64 { return s.enqueue(clockOp{c}) }

type fileOp struct{ r *engine.FileRecord }

func (o fileOp) apply(s *Store, tx *bolt.Tx) error {
	if err := tx.Bucket(bApps).Put(appKey(o.r.Account, o.r.App), nil); err != nil {
		return err
	}
	k := fileKey(o.r)
	if err := tx.Bucket(bFiles).Put(k, s.dict.encodeRecord(o.r)); err != nil {
		return err
	}
	if o.r.Blob != nil && tx.Bucket(bBlobs).Get(k) == nil {
		return tx.Bucket(bBlobs).Put(k, encodeBlob(o.r.Blob))
	}
	return nil
}

type appOp struct{ acct, app string }

func (o appOp) apply(s *Store, tx *bolt.Tx) error {
	// registering a deleted AppId again revives it (engine's RegisterApp)
	if err := tx.Bucket(bGone).Delete(appKey(o.acct, o.app)); err != nil {
		return err
	}
	return tx.Bucket(bApps).Put(appKey(o.acct, o.app), nil)
}

type resetOp struct{ acct string }

func (o resetOp) apply(s *Store, tx *bolt.Tx) error {
	if o.acct == "" {
		for _, b := range bState {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		return nil
	}
	prefix := key(o.acct)
	for _, name := range bState {
		if err := deletePrefix(tx.Bucket(name), prefix); err != nil {
			return err
		}
	}
	return nil
}

// deletePrefix deletes every key of b that starts with prefix.
func deletePrefix(b *bolt.Bucket, prefix []byte) error {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

type replaceOp struct {
	apps  []engine.AppKey
	files []*engine.FileRecord
}

func (o replaceOp) apply(s *Store, tx *bolt.Tx) error {
	if err := (resetOp{}).apply(s, tx); err != nil {
		return err
	}
	for _, a := range o.apps {
		if err := (appOp{a.Account, a.App}).apply(s, tx); err != nil {
			return err
		}
	}
	for _, f := range o.files {
		if err := (fileOp{f}).apply(s, tx); err != nil {
			return err
		}
	}
	return nil
}

type faultsOp struct{ rules []faults.Rule }

func (o faultsOp) apply(s *Store, tx *bolt.Tx) error {
	rules := o.rules
	if len(rules) == 0 {
		rules = []faults.Rule{}
	}
	v, err := json.Marshal(map[string]any{"faults": rules})
	if err != nil {
		return err
	}
	return tx.Bucket(bMeta).Put(kFaults, v)
}

type clockOp struct{ c clock.Saved }

func (o clockOp) apply(s *Store, tx *bolt.Tx) error {
	v, err := json.Marshal(o.c)
	if err != nil {
		return err
	}
	return tx.Bucket(bMeta).Put(kClock, v)
}

// ---- keys and values ----------------------------------------------------------

// key joins parts, each prefixed by its length, so that no name (whatever
// bytes it holds) can run into the next part, and an account's keys share
// the prefix key(account).
func key(parts ...string) []byte {
	n := 0
	for _, p := range parts {
		n += binary.MaxVarintLen64 + len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = binary.AppendUvarint(out, uint64(len(p)))
		out = append(out, p...)
	}
	return out
}

func appKey(acct, app string) []byte { return key(acct, app) }

func fileKey(r *engine.FileRecord) []byte { return key(r.Account, r.App, r.Name, r.Version) }

func splitKey(k []byte, n int) ([]string, bool) {
	parts := make([]string, 0, n)
	for len(k) > 0 {
		l, w := binary.Uvarint(k)
		if w <= 0 || uint64(len(k)-w) < l {
			return nil, false
		}
		parts = append(parts, string(k[w:w+int(l)]))
		k = k[w+int(l):]
	}
	return parts, len(parts) == n
}

// A blob is stored as md5, fail (each length-prefixed), then the content.
func encodeBlob(b *engine.Blob) []byte {
	out := key(b.MD5, b.Fail)
	return append(out, b.Data...)
}

func decodeBlob(v []byte) (*engine.Blob, error) {
	var parts [2]string
	for i := range parts {
		l, w := binary.Uvarint(v)
		if w <= 0 || uint64(len(v)-w) < l {
			return nil, errors.New("malformed")
		}
		parts[i] = string(v[w : w+int(l)])
		v = v[w+int(l):]
	}
	return &engine.Blob{MD5: parts[0], Fail: parts[1], Data: bytes.Clone(v)}, nil
}
