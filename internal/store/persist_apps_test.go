package store

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ensmock/ensmock/internal/engine"
)

func extRec(acct, app string, seq uint64) *engine.AppExtRecord {
	return &engine.AppExtRecord{Account: acct, App: app, Template: []byte(`{"appMetaData":{"appName":"x"}}`), RawBytes: 40,
		Created: 100, Seq: seq, Instances: []engine.InstanceRecord{{ID: "i-1", Region: "r1", Created: 100}, {ID: "i-2", Region: "r2", Created: 90}}}
}

func distRec(acct, app, name string, pos int) *engine.DistRecord {
	return &engine.DistRecord{Account: acct, App: app, Name: name, Version: "1", Pos: pos, Created: 200, Fails: []string{"boom"},
		Reps: []engine.DistRepRecord{{Inst: 0, Attempt: 1, Start: 200, Done: 300}, {Inst: 1, Attempt: 2, Fail: 1, Start: 250, Done: 260}}}
}

// The workflow actions' records survive a reopen exactly; a release forgets
// the app's files, blobs, extension and dists (and only that app's) and
// leaves a tombstone; a Reset of the account forgets all of it.
func TestAppExtSaveAndReload(t *testing.T) {
	dir := t.TempDir()
	s, _ := mustOpen(t, dir)
	keep, gone, bare := extRec("acct", "keep", 2), extRec("acct", "gone", 3), extRec("acct", "bare", 0)
	bare.Template, bare.RawBytes = nil, 0
	gone.DeleteAt = 500
	s.SaveAppExt(keep)
	s.SaveAppExt(gone)
	s.SaveAppExt(bare)
	s.SaveFile(rec("acct", "keep", "f", 0))
	s.SaveFile(rec("acct", "gone", "f", 0))
	// "gone" is a prefix of "gone2" as a string, never as a key.
	s.SaveFile(rec("acct", "gone2", "f", 0))
	d1, d2 := distRec("acct", "keep", "f", 0), distRec("acct", "keep", "g", 1)
	s.SaveDist(d1)
	s.SaveDist(d2)
	s.SaveDist(distRec("acct", "gone", "f", 0))
	if err := s.Wait(s.ReleaseApp("acct", "old", 50, nil)); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, ld := mustOpen(t, dir)
	x := ld.AppExt
	byApp := map[string]*engine.AppExtRecord{}
	for _, r := range x.Exts {
		byApp[r.App] = r
	}
	if len(x.Exts) != 3 || !reflect.DeepEqual(byApp["keep"], keep) || !reflect.DeepEqual(byApp["gone"], gone) || !reflect.DeepEqual(byApp["bare"], bare) {
		t.Fatalf("extensions: %+v", x.Exts)
	}
	if len(x.Dists) != 3 || !reflect.DeepEqual(x.Dists[1], d1) || !reflect.DeepEqual(x.Dists[2], d2) {
		t.Fatalf("dists: %+v", x.Dists)
	}
	if x.Seqs["acct"] != 3 || !reflect.DeepEqual(x.Gone, []engine.GoneRecord{{Account: "acct", App: "old", At: 50}}) {
		t.Fatalf("seqs %v, gone %+v", x.Seqs, x.Gone)
	}

	s.ReleaseApp("acct", "gone", 500, []string{"old"})
	s.Close()
	s, ld = mustOpen(t, dir)
	x = ld.AppExt
	if len(x.Exts) != 2 || len(x.Dists) != 2 || !reflect.DeepEqual(x.Gone, []engine.GoneRecord{{Account: "acct", App: "gone", At: 500}}) {
		t.Fatalf("after the release: exts %d, dists %d, gone %+v", len(x.Exts), len(x.Dists), x.Gone)
	}
	var files []string
	for _, f := range ld.Files {
		files = append(files, f.App)
	}
	if strings.Join(files, ",") != "gone2,keep" && strings.Join(files, ",") != "keep,gone2" {
		t.Fatalf("files after the release: %v", files)
	}
	for _, a := range ld.Apps {
		if a.App == "gone" {
			t.Fatalf("the released app is still registered: %+v", ld.Apps)
		}
	}
	// Registering a deleted AppId again revives it: the tombstone goes.
	s.Wait(s.SaveApp("acct", "gone"))
	s.Wait(s.Reset("other"))
	s.Close()
	s, ld = mustOpen(t, dir)
	if len(ld.AppExt.Gone) != 0 || len(ld.AppExt.Exts) != 2 {
		t.Fatalf("after re-registering: %+v", ld.AppExt)
	}
	s.Wait(s.Reset("acct"))
	s.Close()
	s, ld = mustOpen(t, dir)
	defer s.Close()
	if x := ld.AppExt; len(x.Exts)+len(x.Dists)+len(x.Gone)+len(x.Seqs)+len(ld.Files) != 0 {
		t.Fatalf("after a reset: %+v, %d files", x, len(ld.Files))
	}
}

// A store of schema 1 (no workflow buckets) opens, keeps its files and is
// upgraded to schema 2, which an older ensmock refuses.
func TestSchema1Upgrade(t *testing.T) {
	dir := t.TempDir()
	s, _ := mustOpen(t, dir)
	s.Wait(s.SaveFile(rec("acct", "app", "f", 0)))
	s.Close()
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range bNew {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bMeta).Put(kSchema, []byte("1"))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, ld := mustOpen(t, dir)
	if !ld.Upgraded || len(ld.Files) != 1 || len(ld.AppExt.Exts) != 0 {
		t.Fatalf("schema 1: upgraded %v, %d files", ld.Upgraded, len(ld.Files))
	}
	s.Wait(s.SaveDist(distRec("acct", "app", "f", 0)))
	s.Close()
	s, ld = mustOpen(t, dir)
	defer s.Close()
	if ld.Upgraded || len(ld.AppExt.Dists) != 1 || len(ld.Files) != 1 {
		t.Fatalf("after the upgrade: upgraded %v, %d dists", ld.Upgraded, len(ld.AppExt.Dists))
	}
	var schema string
	s.db.View(func(tx *bolt.Tx) error { schema = string(tx.Bucket(bMeta).Get(kSchema)); return nil })
	if schema != "2" {
		t.Fatalf("schema after the upgrade: %q", schema)
	}
}

// A damaged workflow record refuses the store; nothing is half loaded.
func TestAppExtCorruptRefused(t *testing.T) {
	for name, damage := range map[string]func(tx *bolt.Tx) error{
		"ext": func(tx *bolt.Tx) error { return tx.Bucket(bExt).Put(key("acct", "app"), []byte{extFormat, 1, 200}) },
		"dist": func(tx *bolt.Tx) error {
			return tx.Bucket(bDists).Put(key("acct", "app", "f", "1"), []byte{distFormat, 0, 0, 9})
		},
		"key": func(tx *bolt.Tx) error {
			return tx.Bucket(bDists).Put(key("acct", "app"), encodeDist(distRec("a", "b", "c", 0)))
		},
		"gone": func(tx *bolt.Tx) error { return tx.Bucket(bGone).Put(key("acct", "app"), nil) },
		"seq":  func(tx *bolt.Tx) error { return tx.Bucket(bSeqs).Put(key("acct"), []byte{0x80}) },
	} {
		dir := t.TempDir()
		s, _ := mustOpen(t, dir)
		s.Wait(s.SaveAppExt(extRec("acct", "app", 1)))
		s.Close()
		db, err := bolt.Open(filepath.Join(dir, FileName), 0o644, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = db.Update(damage)
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = Open(dir, Options{LockTimeout: 50 * time.Millisecond})
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "corrupt") {
			t.Errorf("%s: %v, want ErrRefused … corrupt", name, err)
		}
	}
}
