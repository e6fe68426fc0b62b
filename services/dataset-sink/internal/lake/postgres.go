//go:build !nopostgres

package lake

import _ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx"

// postgresBuilt says whether this binary can open postgres:// catalogs: the
// build tag nopostgres (make demo) leaves the driver out.
const postgresBuilt = true
