package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ensmock/ensmock/internal/engine"
	"github.com/ensmock/ensmock/internal/faults"
	"github.com/ensmock/ensmock/mock/clock"
)

func rec(acct, app, name string, pos int32) *engine.FileRecord {
	return &engine.FileRecord{Account: acct, App: app, DataFile: engine.DataFile{Name: name, Version: "1"}, Pos: pos, Created: 5, Attempts: 1,
		Replicas: []engine.ReplicaRecord{{Server: "s1", Attempt: 1, Start: 5, Done: 9, Fail: "boom"}}}
}

func mustOpen(t *testing.T, dir string) (*Store, *Loaded) {
	t.Helper()
	s, ld, err := Open(dir, Options{LockTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return s, ld
}

func TestSaveAndReload(t *testing.T) {
	dir := t.TempDir()
	s, ld := mustOpen(t, dir)
	if !ld.Fresh {
		t.Fatal("a new dir should be fresh")
	}
	// Names with the bytes a naive separator would use must not collide.
	weird := rec("a\x00b", "app", "x\x00y", 0)
	t1 := s.SaveFile(rec("acct", "app", "f", 0))
	s.SaveFile(weird)
	s.SaveFile(&engine.FileRecord{Account: "acct", App: "app", DataFile: engine.DataFile{Name: "g", Version: "1"}, Pos: 1,
		Blob: &engine.Blob{Data: []byte("content"), MD5: "m", Fail: ""}})
	s.SaveApp("other", "registered")
	s.SaveFaults([]faults.Rule{{ID: "r1", Effect: faults.Corrupt}})
	cs := clock.Saved{Mode: clock.Manual, Speed: 2, AnchorWall: time.Unix(100, 0).UTC(), AnchorVirt: time.Unix(200, 0).UTC()}
	last := s.SaveClock(cs)
	if err := s.Wait(last); err != nil {
		t.Fatal(err)
	}
	if err := s.Wait(t1); err != nil { // an older ticket is done too
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, ld = mustOpen(t, dir)
	defer s.Close()
	if ld.Fresh || len(ld.Files) != 3 || len(ld.Apps) != 3 || !ld.HasFaults || len(ld.Faults) != 1 || ld.Faults[0].ID != "r1" {
		t.Fatalf("reloaded: %+v", ld)
	}
	if ld.Clock == nil || *ld.Clock != cs {
		t.Fatalf("clock: %+v, want %+v", ld.Clock, cs)
	}
	var found bool
	for _, f := range ld.Files {
		if f.Account == weird.Account && f.Name == weird.Name {
			found = f.Replicas[0].Fail == "boom"
		}
		if f.Name == "g" && (f.Blob == nil || string(f.Blob.Data) != "content" || f.Blob.MD5 != "m") {
			t.Fatalf("blob: %+v", f.Blob)
		}
	}
	if !found {
		t.Fatalf("the record with NUL bytes in its names is missing: %+v", ld.Files)
	}
}

func TestResetAndReplace(t *testing.T) {
	dir := t.TempDir()
	s, _ := mustOpen(t, dir)
	s.SaveFile(rec("a", "p", "f", 0))
	s.SaveFile(rec("ab", "p", "f", 0)) // shares the prefix "a" as a string
	s.Reset("a")
	if err := s.Wait(s.SaveApp("c", "q")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, ld := mustOpen(t, dir)
	if len(ld.Files) != 1 || ld.Files[0].Account != "ab" || len(ld.Apps) != 2 {
		t.Fatalf("after reset of a: files %+v apps %+v", ld.Files, ld.Apps)
	}
	if err := s.Wait(s.Replace([]engine.AppKey{{Account: "z", App: "zz"}}, []*engine.FileRecord{rec("y", "p", "f", 0)})); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, ld = mustOpen(t, dir)
	defer s.Close()
	if len(ld.Files) != 1 || ld.Files[0].Account != "y" || len(ld.Apps) != 2 {
		t.Fatalf("after replace: files %+v apps %+v", ld.Files, ld.Apps)
	}
}

// A store of another schema, a file that is not a store, or a damaged one is
// refused and left byte for byte as it was.
func TestRefusedAndUntouched(t *testing.T) {
	newer := t.TempDir()
	s, _ := mustOpen(t, newer)
	s.Wait(s.SaveFile(rec("a", "p", "f", 0)))
	s.Close()
	db, err := bolt.Open(filepath.Join(newer, FileName), 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Put(kSchema, []byte("3")) }); err != nil {
		t.Fatal(err)
	}
	db.Close()

	junk := t.TempDir()
	if err := os.WriteFile(filepath.Join(junk, FileName), bytes.Repeat([]byte{0xAB}, 64<<10), 0o644); err != nil {
		t.Fatal(err)
	}

	// Damage a data page (not the meta pages) of a real store.
	damaged := t.TempDir()
	s, _ = mustOpen(t, damaged)
	for i := range 200 {
		s.SaveFile(rec("a", "p", strings.Repeat("n", 50)+string(rune('a'+i%26))+string(rune('a'+i/26)), int32(i)))
	}
	s.Wait(s.SaveApp("a", "p"))
	s.Close()
	path := filepath.Join(damaged, FileName)
	b, _ := os.ReadFile(path)
	ps := os.Getpagesize()
	for i := 2 * ps; i < len(b); i++ { // every page past the two meta pages
		b[i] ^= 0x5A
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}

	for name, c := range map[string]struct{ dir, want string }{
		"newer schema": {newer, "schema 3"},
		"not a store":  {junk, "not a readable ensmock store"},
		"damaged":      {damaged, "corrupt"},
	} {
		before, _ := os.ReadFile(filepath.Join(c.dir, FileName))
		_, _, err := Open(c.dir, Options{LockTimeout: 50 * time.Millisecond})
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrRefused with %q", name, err, c.want)
		}
		after, _ := os.ReadFile(filepath.Join(c.dir, FileName))
		if !bytes.Equal(before, after) {
			t.Errorf("%s: the refused file was changed", name)
		}
	}
}

// A commit that fails is reported to OnFatal and to every waiter; nothing
// after it is acknowledged.
func TestCommitFailure(t *testing.T) {
	fatal := make(chan error, 1)
	s, _, err := Open(t.TempDir(), Options{OnFatal: func(err error) { fatal <- err }})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Wait(s.SaveApp("a", "p")); err != nil {
		t.Fatal(err)
	}
	// A record the encoder cannot write makes the transaction fail.
	bad := rec("a", "p", "f", 0)
	bad.Replicas = nil
	t1 := s.enqueue(failOp{})
	t2 := s.SaveFile(bad)
	if err := s.Wait(t1); err == nil {
		t.Fatal("a failed commit was acknowledged")
	}
	if err := s.Wait(t2); err == nil {
		t.Fatal("a change after a failed commit was acknowledged")
	}
	if err := <-fatal; err == nil || !strings.Contains(err.Error(), "commit") {
		t.Fatalf("OnFatal: %v", err)
	}
	s.Close()
}

type failOp struct{}

func (failOp) apply(*Store, *bolt.Tx) error { return errors.New("disk on fire") }

func TestRecordCodec(t *testing.T) {
	r := rec("acct", "app", "name", 7)
	r.Size, r.Timeout, r.URL, r.MD5, r.ArchiveType, r.Attempts = 1<<40, 600, "http://127.0.0.1/x", "abc", "zip", 3
	r.Replicas = append(r.Replicas, engine.ReplicaRecord{Server: "s2", Attempt: 3, Start: -5, Done: 1 << 62})
	var d dictionary
	b := d.encodeRecord(r)
	got, err := d.decodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%+v", *got) != fmt.Sprintf("%+v", *r) {
		t.Fatalf("round trip:\n%+v\n%+v", *got, *r)
	}
	for i := range len(b) { // every truncation is an error, not a panic
		if _, err := d.decodeRecord(b[:i]); err == nil {
			t.Fatalf("a record truncated to %d bytes decoded", i)
		}
	}
	if _, err := d.decodeRecord(append(b, 0)); err == nil {
		t.Fatal("trailing bytes accepted")
	}
	if _, err := (&dictionary{}).decodeRecord(b); err == nil {
		t.Fatal("a server number beyond the dictionary decoded")
	}
}
