//go:build nopostgres

package lake

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPostgresNotInThisBinary: a binary built without the PostgreSQL driver
// (make demo) refuses a postgres:// catalog, saying why and what to use
// instead; sqlite catalogs still open.
func TestPostgresNotInThisBinary(t *testing.T) {
	_, _, err := OpenDB("postgres://sink@127.0.0.1:5432/catalog")
	require.ErrorContains(t, err, "PostgreSQL catalogs are not in this binary (built with the tag nopostgres")
	db, dialect, err := OpenDB("sqlite:" + t.TempDir() + "/catalog.db")
	require.NoError(t, err)
	require.Equal(t, "sqlite", dialect)
	require.NoError(t, db.Close())
}
