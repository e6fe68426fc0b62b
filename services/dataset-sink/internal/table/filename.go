package table

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/consentflow/consentflow/services/dataset-sink/internal/storage"
)

// DataFile identifies one Parquet file of a dataset by its key relative to the
// dataset directory: data/dt=YYYY-MM-DD/<topic>+<partition>+<first>-<last>.parquet,
// or ...<last>.e<N>.parquet for a copy-on-write rewrite that applied the erasure
// ledger up to position N. First and Last are the Kafka offsets the file covers
// (every offset in between was consumed; some may have been dropped as erased).
type DataFile struct {
	Day       string
	Topic     string
	Partition int
	First     int64
	Last      int64
	// Erased is the ledger position a rewrite applied; 0 for a file as written.
	Erased int64
}

// Key is the file's path relative to the dataset directory.
func (f DataFile) Key() string {
	name := fmt.Sprintf("%s+%d+%d-%d", f.Topic, f.Partition, f.First, f.Last)
	if f.Erased > 0 {
		name += fmt.Sprintf(".e%d", f.Erased)
	}
	return "data/dt=" + f.Day + "/" + name + ".parquet"
}

// Base identifies the offset range regardless of rewrites.
func (f DataFile) Base() string {
	return fmt.Sprintf("%s/%s+%d+%d-%d", f.Day, f.Topic, f.Partition, f.First, f.Last)
}

// ParseDataFile parses a key relative to the dataset directory.
func ParseDataFile(key string) (DataFile, error) {
	var f DataFile
	dir, name := path.Split(key)
	day, ok := strings.CutPrefix(strings.TrimSuffix(dir, "/"), "data/dt=")
	if !ok || len(day) != 10 {
		return f, fmt.Errorf("data file %q: not under data/dt=YYYY-MM-DD/", key)
	}
	f.Day = day
	stem, ok := strings.CutSuffix(name, ".parquet")
	if !ok {
		return f, fmt.Errorf("data file %q: no .parquet suffix", key)
	}
	if i := strings.LastIndex(stem, ".e"); i > 0 && !strings.Contains(stem[i:], "+") {
		n, err := strconv.ParseInt(stem[i+2:], 10, 64)
		if err != nil || n <= 0 {
			return f, fmt.Errorf("data file %q: bad rewrite suffix", key)
		}
		f.Erased, stem = n, stem[:i]
	}
	parts := strings.Split(stem, "+")
	if len(parts) != 3 || parts[0] == "" {
		return f, fmt.Errorf("data file %q: want <topic>+<partition>+<first>-<last>", key)
	}
	f.Topic = parts[0]
	p, err := strconv.Atoi(parts[1])
	if err != nil || p < 0 {
		return f, fmt.Errorf("data file %q: bad partition", key)
	}
	f.Partition = p
	first, last, ok := strings.Cut(parts[2], "-")
	if !ok {
		return f, fmt.Errorf("data file %q: bad offset range", key)
	}
	if f.First, err = strconv.ParseInt(first, 10, 64); err != nil {
		return f, fmt.Errorf("data file %q: bad first offset", key)
	}
	if f.Last, err = strconv.ParseInt(last, 10, 64); err != nil || f.Last < f.First {
		return f, fmt.Errorf("data file %q: bad last offset", key)
	}
	return f, nil
}

// Stored is a data file found in storage.
type Stored struct {
	File DataFile
	Info storage.ObjectInfo
}

// List lists the dataset's Parquet files, skipping foreign objects; their keys
// are relative to the dataset directory.
func List(ctx context.Context, store storage.Storage, dataset string) ([]Stored, error) {
	objs, err := store.List(ctx, dataset+"/data/")
	if err != nil {
		return nil, err
	}
	out := make([]Stored, 0, len(objs))
	for _, o := range objs {
		rel := strings.TrimPrefix(o.Key, dataset+"/")
		f, err := ParseDataFile(rel)
		if err != nil {
			continue
		}
		o.Key = rel
		out = append(out, Stored{File: f, Info: o})
	}
	return out, nil
}
