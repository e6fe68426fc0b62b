//go:build nopostgres

package lake

// postgresBuilt: this binary was built with the tag nopostgres.
const postgresBuilt = false
