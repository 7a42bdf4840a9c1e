package store

import (
	"encoding/binary"
	"errors"
	"math"

	bolt "go.etcd.io/bbolt"

	"github.com/ensmock/ensmock/internal/engine"
)

// A data file record is stored in a compact binary form (a push writes one per
// started file, so its size is what a commit writes): a format byte, then
// length-prefixed strings and varints in a fixed order; a replica names its
// file server by a number of the store's dictionary (meta/servers), not by
// its id. Every read is bounds checked: a damaged record is an error, never a
// panic or a guess.

const recordFormat = 1

// dictionary numbers file server ids in the order records first used them.
type dictionary struct {
	ids   []string
	index map[string]uint64
	dirty bool // ids grew since the last flush
}

func (d *dictionary) number(id string) uint64 {
	if d.index == nil {
		d.index = map[string]uint64{}
	}
	n, ok := d.index[id]
	if !ok {
		n = uint64(len(d.ids))
		d.ids = append(d.ids, id)
		d.index[id] = n
		d.dirty = true
	}
	return n
}

func (d *dictionary) flush(tx *bolt.Tx) error {
	if !d.dirty {
		return nil
	}
	var b []byte
	for _, id := range d.ids {
		b = appendString(b, id)
	}
	d.dirty = false
	return tx.Bucket(bMeta).Put(kServer, b)
}

func (d *dictionary) load(v []byte) error {
	r := &reader{b: v}
	for len(r.b) > 0 && r.err == nil {
		d.number(r.string())
	}
	d.dirty = false
	return r.err
}

func (d *dictionary) encodeRecord(r *engine.FileRecord) []byte {
	n := 64 + len(r.Account) + len(r.App) + len(r.Name) + len(r.Version) + len(r.ArchiveType) + len(r.MD5) + len(r.URL)
	for i := range r.Replicas {
		n += 32 + len(r.Replicas[i].Fail)
	}
	b := make([]byte, 0, n)
	b = append(b, recordFormat)
	for _, s := range []string{r.Account, r.App, r.Name, r.Version, r.ArchiveType, r.MD5, r.URL} {
		b = appendString(b, s)
	}
	for _, v := range []int64{r.Size, r.Timeout, int64(r.Pos), r.Created, int64(r.Attempts)} {
		b = binary.AppendVarint(b, v)
	}
	b = binary.AppendUvarint(b, uint64(len(r.Replicas)))
	for i := range r.Replicas {
		rp := &r.Replicas[i]
		b = binary.AppendUvarint(b, d.number(rp.Server))
		b = binary.AppendVarint(b, int64(rp.Attempt))
		b = binary.AppendVarint(b, rp.Start)
		b = binary.AppendVarint(b, rp.Done-rp.Start)
		b = appendString(b, rp.Fail)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errRecord = errors.New("malformed record")

type reader struct {
	b   []byte
	err error
}

func (d *reader) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errRecord
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *reader) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errRecord
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *reader) int() int {
	v := d.varint()
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.err = errRecord
		return 0
	}
	return int(v)
}

func (d *reader) string() string {
	l := d.uvarint()
	if d.err != nil {
		return ""
	}
	if l > uint64(len(d.b)) {
		d.err = errRecord
		return ""
	}
	s := string(d.b[:l])
	d.b = d.b[l:]
	return s
}

func (dict *dictionary) decodeRecord(v []byte) (*engine.FileRecord, error) {
	if len(v) == 0 || v[0] != recordFormat {
		return nil, errRecord
	}
	d := &reader{b: v[1:]}
	r := &engine.FileRecord{}
	for _, p := range []*string{&r.Account, &r.App, &r.Name, &r.Version, &r.ArchiveType, &r.MD5, &r.URL} {
		*p = d.string()
	}
	r.Size, r.Timeout = d.varint(), d.varint()
	r.Pos, r.Created, r.Attempts = int32(d.int()), d.varint(), d.int()
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) { // each replica takes at least one byte
		return nil, errRecord
	}
	r.Replicas = make([]engine.ReplicaRecord, n)
	for i := range r.Replicas {
		rp := &r.Replicas[i]
		if n := d.uvarint(); n < uint64(len(dict.ids)) {
			rp.Server = dict.ids[n]
		} else {
			d.err = errRecord
		}
		rp.Attempt = d.int()
		rp.Start = d.varint()
		rp.Done = rp.Start + d.varint()
		rp.Fail = d.string()
	}
	if d.err != nil || len(d.b) != 0 {
		return nil, errRecord
	}
	return r, nil
}
