package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/ensmock/ensmock/internal/engine"
)

// The workflow actions' state (schema 2): per application its extension
// (template, instances, deletion time) in appext, per distributed data file
// its instance replicas in dists, the tombstones of deleted AppIds in gone,
// and each account's AppId counter in seqs. Keys are length-prefixed like the
// others (key), values are compact binary records like the data files'
// (codec.go): a format byte, then length-prefixed strings and varints.

const (
	extFormat  = 1
	distFormat = 1
)

// SaveAppExt queues an application's extension (and the app itself, and the
// account's AppId counter).
func (s *Store) SaveAppExt(r *engine.AppExtRecord) uint64 { return s.enqueue(extOp{r}) }

// SaveDist queues one distributed data file.
func (s *Store) SaveDist(r *engine.DistRecord) uint64 { return s.enqueue(distOp{r}) }

// ReleaseApp queues the end of a deletion: app, files, extension and dists
// forgotten, the AppId a tombstone, the tombstones of evicted forgotten.
func (s *Store) ReleaseApp(acct, app string, at int64, evicted []string) uint64 {
	return s.enqueue(releaseOp{acct, app, at, evicted})
}

type extOp struct{ r *engine.AppExtRecord }

func (o extOp) apply(s *Store, tx *bolt.Tx) error {
	k := appKey(o.r.Account, o.r.App)
	if err := tx.Bucket(bApps).Put(k, nil); err != nil {
		return err
	}
	if err := tx.Bucket(bExt).Put(k, encodeExt(o.r)); err != nil {
		return err
	}
	if o.r.Seq == 0 {
		return nil
	}
	sk := key(o.r.Account)
	if v := tx.Bucket(bSeqs).Get(sk); v != nil {
		if old, n := binary.Uvarint(v); n > 0 && old >= o.r.Seq {
			return nil
		}
	}
	return tx.Bucket(bSeqs).Put(sk, binary.AppendUvarint(nil, o.r.Seq))
}

type distOp struct{ r *engine.DistRecord }

func (o distOp) apply(s *Store, tx *bolt.Tx) error {
	return tx.Bucket(bDists).Put(key(o.r.Account, o.r.App, o.r.Name, o.r.Version), encodeDist(o.r))
}

type releaseOp struct {
	acct, app string
	at        int64
	evicted   []string
}

func (o releaseOp) apply(s *Store, tx *bolt.Tx) error {
	k := appKey(o.acct, o.app)
	for _, name := range [][]byte{bFiles, bBlobs, bDists} {
		if err := deletePrefix(tx.Bucket(name), k); err != nil {
			return err
		}
	}
	for _, name := range [][]byte{bApps, bExt} {
		if err := tx.Bucket(name).Delete(k); err != nil {
			return err
		}
	}
	gone := tx.Bucket(bGone)
	for _, id := range o.evicted {
		if err := gone.Delete(appKey(o.acct, id)); err != nil {
			return err
		}
	}
	return gone.Put(k, binary.AppendVarint(nil, o.at))
}

func encodeExt(r *engine.AppExtRecord) []byte {
	b := make([]byte, 0, 32+len(r.Template)+len(r.Instances)*48)
	b = append(b, extFormat)
	if r.Template == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = appendString(b, string(r.Template))
	}
	b = binary.AppendVarint(b, int64(r.RawBytes))
	b = binary.AppendVarint(b, r.Created)
	b = binary.AppendVarint(b, r.DeleteAt)
	b = binary.AppendUvarint(b, r.Seq)
	b = binary.AppendUvarint(b, uint64(len(r.Instances)))
	for _, in := range r.Instances {
		b = appendString(b, in.ID)
		b = appendString(b, in.Region)
		b = binary.AppendVarint(b, in.Created-r.Created)
	}
	return b
}

func decodeExt(acct, app string, v []byte) (*engine.AppExtRecord, error) {
	if len(v) < 2 || v[0] != extFormat || v[1] > 1 {
		return nil, errRecord
	}
	d := &reader{b: v[2:]}
	r := &engine.AppExtRecord{Account: acct, App: app}
	if v[1] == 1 {
		r.Template = []byte(d.string())
	}
	r.RawBytes = d.int()
	r.Created, r.DeleteAt = d.varint(), d.varint()
	r.Seq = d.uvarint()
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) { // each instance takes at least one byte
		return nil, errRecord
	}
	r.Instances = make([]engine.InstanceRecord, n)
	for i := range r.Instances {
		in := &r.Instances[i]
		in.ID, in.Region = d.string(), d.string()
		in.Created = r.Created + d.varint()
	}
	if d.err != nil || len(d.b) != 0 {
		return nil, errRecord
	}
	return r, nil
}

func encodeDist(r *engine.DistRecord) []byte {
	b := make([]byte, 0, 32+len(r.Reps)*16)
	b = append(b, distFormat)
	b = binary.AppendVarint(b, int64(r.Pos))
	b = binary.AppendVarint(b, r.Created)
	b = binary.AppendUvarint(b, uint64(len(r.Fails)))
	for _, f := range r.Fails {
		b = appendString(b, f)
	}
	b = binary.AppendUvarint(b, uint64(len(r.Reps)))
	for _, rp := range r.Reps {
		b = binary.AppendUvarint(b, uint64(rp.Inst))
		b = binary.AppendVarint(b, int64(rp.Attempt))
		b = binary.AppendVarint(b, int64(rp.Fail))
		b = binary.AppendVarint(b, rp.Start)
		b = binary.AppendVarint(b, rp.Done-rp.Start)
	}
	return b
}

func decodeDist(parts []string, v []byte) (*engine.DistRecord, error) {
	if len(v) == 0 || v[0] != distFormat {
		return nil, errRecord
	}
	d := &reader{b: v[1:]}
	r := &engine.DistRecord{Account: parts[0], App: parts[1], Name: parts[2], Version: parts[3]}
	r.Pos = d.int()
	r.Created = d.varint()
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		return nil, errRecord
	}
	r.Fails = make([]string, n)
	for i := range r.Fails {
		r.Fails[i] = d.string()
	}
	n = d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		return nil, errRecord
	}
	r.Reps = make([]engine.DistRepRecord, n)
	for i := range r.Reps {
		rp := &r.Reps[i]
		inst := d.uvarint()
		if inst > 0xffffffff {
			d.err = errRecord
		}
		rp.Inst = uint32(inst)
		rp.Attempt, rp.Fail = d.int(), d.int()
		rp.Start = d.varint()
		rp.Done = rp.Start + d.varint()
	}
	if d.err != nil || len(d.b) != 0 {
		return nil, errRecord
	}
	return r, nil
}

// loadAppExt decodes the schema 2 buckets into x.
func loadAppExt(tx *bolt.Tx, x *engine.AppRecords) error {
	err := tx.Bucket(bExt).ForEach(func(k, v []byte) error {
		parts, ok := splitKey(k, 2)
		if !ok {
			return fmt.Errorf("an application extension key is malformed")
		}
		r, err := decodeExt(parts[0], parts[1], v)
		if err != nil {
			return fmt.Errorf("the instances of app %q are unreadable", parts[1])
		}
		x.Exts = append(x.Exts, r)
		return nil
	})
	if err != nil {
		return err
	}
	err = tx.Bucket(bDists).ForEach(func(k, v []byte) error {
		parts, ok := splitKey(k, 4)
		if !ok {
			return fmt.Errorf("a distribution key is malformed")
		}
		r, err := decodeDist(parts, v)
		if err != nil {
			return fmt.Errorf("the distribution of %q %q of app %q is unreadable", parts[2], parts[3], parts[1])
		}
		x.Dists = append(x.Dists, r)
		return nil
	})
	if err != nil {
		return err
	}
	err = tx.Bucket(bGone).ForEach(func(k, v []byte) error {
		parts, ok := splitKey(k, 2)
		at, n := binary.Varint(v)
		if !ok || n <= 0 || n != len(v) {
			return fmt.Errorf("a deleted AppId record is malformed")
		}
		x.Gone = append(x.Gone, engine.GoneRecord{Account: parts[0], App: parts[1], At: at})
		return nil
	})
	if err != nil {
		return err
	}
	return tx.Bucket(bSeqs).ForEach(func(k, v []byte) error {
		parts, ok := splitKey(k, 1)
		seq, n := binary.Uvarint(v)
		if !ok || n <= 0 || n != len(v) {
			return fmt.Errorf("an AppId counter is malformed")
		}
		if x.Seqs == nil {
			x.Seqs = map[string]uint64{}
		}
		x.Seqs[parts[0]] = seq
		return nil
	})
}
