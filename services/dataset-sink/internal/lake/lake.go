// Package lake is the dataset's Apache Iceberg table: the SQL catalog that holds
// it (sqlite for one host, PostgreSQL for several sink instances), its creation
// and loading, commits that survive concurrent writers (reload, redo, retry; a
// commit of unknown outcome is recognised by the id it carries), the sink's
// state in snapshot summaries (Kafka offsets, erasures applied, pseudonym keys)
// and maintenance: snapshot expiry, orphan files, compaction.
package lake

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	"github.com/apache/iceberg-go/table"
	"go.uber.org/zap"
	_ "modernc.org/sqlite" // pure-Go sqlite driver "sqlite"

	tbl "github.com/consentflow/consentflow/services/dataset-sink/internal/table"
)

// Options locate the table.
type Options struct {
	// CatalogURI is sqlite:PATH (a file; sqlite:///abs/path too) or
	// postgres://... (several sink instances, one catalog).
	CatalogURI string
	// CatalogName is the catalog's name (the catalog_name column of the SQL
	// catalog: readers open the catalog under this name).
	CatalogName string
	Namespace   string
	Table       string
	// Location is the table's location: file:///abs/dir or s3://bucket/prefix.
	Location string
	// IOProps are passed to the catalog (S3 settings for s3:// locations).
	IOProps iceberg.Properties
	// TargetFileBytes and RowGroupRows go into the table properties.
	TargetFileBytes int64
	RowGroupRows    int64
}

// Lake is one dataset table in its catalog.
type Lake struct {
	opts  Options
	db    *sql.DB
	cat   *sqlcat.Catalog
	ident table.Identifier
	log   *zap.Logger
	m     *Metrics
	// Dialect is "sqlite" or "postgres".
	Dialect string
}

// ErrConflict marks a commit that lost a race: nothing was committed, reload
// and redo.
var ErrConflict = errors.New("commit conflict")

// OpenDB opens the catalog database of uri: (driver, dialect, dsn).
func OpenDB(uri string) (*sql.DB, string, error) {
	switch {
	case strings.HasPrefix(uri, "postgres://"), strings.HasPrefix(uri, "postgresql://"):
		if !postgresBuilt {
			return nil, "", errors.New("SINK_CATALOG_URI: PostgreSQL catalogs are not in this binary (built with the tag nopostgres, as make demo does); use make build or the image")
		}
		db, err := sql.Open("pgx", uri)
		if err != nil {
			return nil, "", fmt.Errorf("open postgres catalog: %w", err)
		}
		db.SetMaxOpenConns(8)
		return db, "postgres", nil
	case strings.HasPrefix(uri, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(uri, "sqlite:"), "//")
		if path == "" {
			return nil, "", fmt.Errorf("catalog %q: no sqlite file", uri)
		}
		// WAL lets readers (pyiceberg, DuckDB) read while the sink writes; the
		// busy timeout makes concurrent writers of one host wait instead of
		// failing.
		dsn := "file:" + path + "?_pragma=busy_timeout(20000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			return nil, "", fmt.Errorf("open sqlite catalog %s: %w", path, err)
		}
		// One connection: the process's catalog and ledger statements take
		// turns instead of contending for sqlite's write lock (other processes,
		// readers among them, wait on the busy timeout).
		db.SetMaxOpenConns(1)
		return db, "sqlite", nil
	}
	return nil, "", fmt.Errorf("catalog URI %q: want sqlite:PATH or postgres://...", uri)
}

// Open opens (creating when missing) the catalog, the namespace and the table.
func Open(ctx context.Context, o Options, m *Metrics, log *zap.Logger) (*Lake, error) {
	db, dialect, err := OpenDB(o.CatalogURI)
	if err != nil {
		return nil, err
	}
	if err := pingRetry(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	props := iceberg.Properties{}
	for k, v := range o.IOProps {
		props[k] = v
	}
	// Instances starting together race to create the catalog's tables;
	// PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe against that (a
	// unique violation on its type catalog): the loser tries again.
	var cat *sqlcat.Catalog
	for try := 0; ; try++ {
		cat, err = sqlcat.NewCatalog(o.CatalogName, db, sqlcat.SupportedDialect(dialect), props)
		if err == nil || try == 10 || !CreateRace(err) {
			break
		}
		time.Sleep(time.Duration(100*(try+1)) * time.Millisecond)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open SQL catalog %s: %w", redact(o.CatalogURI), err)
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	l := &Lake{opts: o, db: db, cat: cat, ident: table.Identifier{o.Namespace, o.Table}, log: log, m: m, Dialect: dialect}
	if err := l.ensureTable(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return l, nil
}

// CreateRace reports whether err is a lost race to create a table of the
// catalog database.
func CreateRace(err error) bool {
	m := err.Error()
	return strings.Contains(m, "23505") || strings.Contains(m, "42P07") || strings.Contains(m, "already exists")
}

// pingRetry waits (bounded) for the catalog database: at start-up next to a
// database that is starting too.
func pingRetry(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := db.PingContext(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("catalog database unreachable: %w", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// redact removes a password from a URI for messages.
func redact(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.User == nil {
		return uri
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

func (l *Lake) ensureTable(ctx context.Context) error {
	ns := table.Identifier{l.opts.Namespace}
	if err := l.cat.CreateNamespace(ctx, ns, nil); err != nil && !errors.Is(err, catalog.ErrNamespaceAlreadyExists) {
		if ok, cerr := l.cat.CheckNamespaceExists(ctx, ns); cerr != nil || !ok {
			return fmt.Errorf("create namespace %s: %w", l.opts.Namespace, err)
		}
	}
	want := tbl.Properties(l.opts.TargetFileBytes, l.opts.RowGroupRows)
	t, err := l.cat.LoadTable(ctx, l.ident)
	if errors.Is(err, catalog.ErrNoSuchTable) {
		sc := tbl.Schema()
		spec, serr := tbl.PartitionSpec(sc)
		if serr != nil {
			return serr
		}
		t, err = l.cat.CreateTable(ctx, l.ident, sc, catalog.WithPartitionSpec(&spec),
			catalog.WithLocation(l.opts.Location), catalog.WithProperties(want))
		if err == nil {
			l.log.Info("iceberg table created", zap.String("table", l.Name()), zap.String("location", t.Location()))
			return nil
		}
		// Another instance created it first.
		if t2, lerr := l.cat.LoadTable(ctx, l.ident); lerr == nil {
			t, err = t2, nil
		}
	}
	if err != nil {
		return fmt.Errorf("load table %s: %w", l.Name(), err)
	}
	if loc := strings.TrimSuffix(t.Location(), "/"); loc != strings.TrimSuffix(l.opts.Location, "/") {
		return fmt.Errorf("table %s is at %s, the sink is configured for %s (DATASET_ROOT / S3_* changed?)", l.Name(), loc, l.opts.Location)
	}
	if err := checkSchema(t.Schema()); err != nil {
		return fmt.Errorf("table %s: %w", l.Name(), err)
	}
	// Keep the properties the sink relies on (privacy, metadata cleanup).
	missing := iceberg.Properties{}
	for k, v := range want {
		if t.Properties()[k] != v && k != "format-version" {
			missing[k] = v
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = l.Commit(ctx, "properties", func(ctx context.Context, a *Attempt) (*table.Transaction, error) {
		tx := a.Base.NewTransaction()
		return tx, tx.SetProperties(missing)
	})
	return err
}

// checkSchema refuses a table whose columns are not the dataset's.
func checkSchema(sc *iceberg.Schema) error {
	for _, c := range tbl.Columns {
		if _, ok := sc.FindFieldByName(c.Name); !ok {
			return fmt.Errorf("schema lacks column %s", c.Name)
		}
	}
	return nil
}

// Name is namespace.table.
func (l *Lake) Name() string { return l.opts.Namespace + "." + l.opts.Table }

// CatalogName is the catalog's name.
func (l *Lake) CatalogName() string { return l.opts.CatalogName }

// DB is the catalog database (the erasure ledger lives there too).
func (l *Lake) DB() *sql.DB { return l.db }

// Location is the table's location.
func (l *Lake) Location() string { return strings.TrimSuffix(l.opts.Location, "/") }

// Load loads the table as it is now.
func (l *Lake) Load(ctx context.Context) (*table.Table, error) {
	t, err := l.cat.LoadTable(ctx, l.ident)
	if err != nil {
		return nil, fmt.Errorf("load table %s: %w", l.Name(), err)
	}
	return t, nil
}

// Close closes the catalog database.
func (l *Lake) Close() error { return l.db.Close() }

// Rel returns path relative to the table location ("data/…", "metadata/…"),
// or "" when it is not under it.
func (l *Lake) Rel(path string) string {
	loc := l.Location() + "/"
	if rel, ok := strings.CutPrefix(path, loc); ok {
		return rel
	}
	// file:/x and file:///x spell the same place.
	if p, ok := strings.CutPrefix(path, "file:"); ok {
		if lp, ok := strings.CutPrefix(loc, "file:"); ok {
			if rel, ok := strings.CutPrefix("/"+strings.TrimLeft(p, "/"), "/"+strings.TrimLeft(lp, "/")); ok {
				return rel
			}
		}
	}
	return ""
}

// FileLocation is the file:// location of a local directory.
func FileLocation(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return "file://" + filepath.ToSlash(abs), nil
}
