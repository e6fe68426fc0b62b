package table

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/consentflow/consentflow/services/dataset-sink/internal/storage"
)

// Parquet key-value metadata written into every file.
const (
	metaPolicyVersions = "consentflow.policy_versions"
	metaLedgerPosition = "consentflow.erasure_ledger_position"
)

// File is a Parquet file of rows being written to a staged file.
type File struct {
	// Staged is the file written to.
	Staged   *os.File
	w        *parquet.GenericWriter[Row]
	rows     int64
	policies map[string]struct{}
}

// NewFile starts a Parquet file (zstd, at most rowGroupRows rows per row group)
// on staged.
func NewFile(staged *os.File, rowGroupRows int64) *File {
	w := parquet.NewGenericWriter[Row](staged,
		parquet.Compression(&parquet.Zstd),
		parquet.MaxRowsPerRowGroup(rowGroupRows),
		parquet.PageBufferSize(256<<10),
		parquet.CreatedBy("consentflow dataset-sink", "1", ""),
	)
	return &File{Staged: staged, w: w, policies: map[string]struct{}{}}
}

// Write appends rows.
func (p *File) Write(rows []Row) error {
	if _, err := p.w.Write(rows); err != nil {
		return fmt.Errorf("write parquet rows: %w", err)
	}
	p.rows += int64(len(rows))
	for i := range rows {
		p.policies[rows[i].PolicyVersion] = struct{}{}
	}
	return nil
}

// Size estimates the file's size so far.
func (p *File) Size() int64 { return p.w.Size() }

// Rows is the number of rows written.
func (p *File) Rows() int64 { return p.rows }

// Finish writes the footer with the policy versions seen and the ledger position
// the rows were filtered against.
func (p *File) Finish(ledgerPos int64) error {
	p.w.SetKeyValueMetadata(metaPolicyVersions, strings.Join(SortedKeys(p.policies), ","))
	p.w.SetKeyValueMetadata(metaLedgerPosition, fmt.Sprint(ledgerPos))
	if err := p.w.Close(); err != nil {
		return fmt.Errorf("close parquet writer: %w", err)
	}
	return nil
}

// SortedKeys returns the keys of a set, sorted.
func SortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Facts are what a snapshot needs from a file's footer.
type Facts struct {
	Rows           int64
	PolicyVersions []string
}

// ReadFacts reads a Parquet footer.
func ReadFacts(obj storage.Object) (Facts, error) {
	f, err := parquet.OpenFile(obj, obj.Info().Size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return Facts{}, fmt.Errorf("open parquet %s: %w", obj.Info().Key, err)
	}
	facts := Facts{Rows: f.NumRows()}
	if v, ok := f.Lookup(metaPolicyVersions); ok && v != "" {
		facts.PolicyVersions = strings.Split(v, ",")
	}
	return facts, nil
}

// ReadRows reads every row of a stored Parquet file.
func ReadRows(ctx context.Context, store storage.Storage, key string) ([]Row, error) {
	obj, err := store.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	return readAll[Row](ctx, obj, key)
}

func readAll[T any](ctx context.Context, obj io.ReaderAt, key string) ([]T, error) {
	r := parquet.NewGenericReader[T](obj)
	defer r.Close()
	rows := make([]T, r.NumRows())
	read := 0
	for read < len(rows) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, err := r.Read(rows[read:])
		read += n
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read parquet %s: %w", key, err)
		}
		if n == 0 {
			break
		}
	}
	return rows[:read], nil
}
