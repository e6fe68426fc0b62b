package deploycheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// connectionBuilders are the calls and types that open a connection to Kafka,
// the schema registry or Redis, by import path, with the one package allowed to
// use them: everything else goes through it, so that every connection carries
// the TLS, SASL and credentials of KAFKA_*, SCHEMA_REGISTRY_* and REDIS_*.
var connectionBuilders = map[string]struct {
	names   []string
	allowed string
}{
	"github.com/segmentio/kafka-go": {[]string{"NewReader", "ReaderConfig", "Writer", "Client", "Dialer", "Transport", "TCP",
		"Dial", "DialContext", "DialLeader", "DialPartition", "NewConnWith", "DefaultDialer", "DefaultTransport"}, "pkg/stream"},
	"github.com/twmb/franz-go/pkg/sr":  {[]string{"NewClient"}, "pkg/avro"},
	"github.com/redis/go-redis/v9":     {[]string{"NewClient", "NewClusterClient", "NewUniversalClient", "NewFailoverClient", "NewFailoverClusterClient"}, "pkg/redisconn"},
	"github.com/twmb/franz-go/pkg/kgo": {[]string{"NewClient"}, "-"},
}

// TestConnectionsAreBuiltInOnePlace: no program builds a Kafka, registry or
// Redis client of its own (tests may, for fakes and fault injection).
func TestConnectionsAreBuiltInOnePlace(t *testing.T) {
	repo := root(t)
	fset := token.NewFileSet()
	var bad []string
	err := filepath.WalkDir(repo, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repo, path)
		if d.IsDir() {
			if base := d.Name(); rel != "." && (strings.HasPrefix(base, ".") || base == "out" || base == "testdata" || base == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly|parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		local := map[string]string{} // local name -> import path, for the watched imports
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if _, ok := connectionBuilders[p]; !ok {
				continue
			}
			name := p[strings.LastIndex(p, "/")+1:]
			switch {
			case imp.Name != nil:
				name = imp.Name.Name
			case strings.HasPrefix(name, "v") && strings.Contains(p, "go-redis"):
				name = "redis"
			case name == "kafka-go":
				name = "kafka"
			}
			local[name] = p
		}
		if len(local) == 0 {
			return nil
		}
		f, err = parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(rel))
		check := func(e ast.Expr) {
			sel, ok := e.(*ast.SelectorExpr)
			if !ok {
				return
			}
			id, ok := sel.X.(*ast.Ident)
			if !ok {
				return
			}
			p, ok := local[id.Name]
			if !ok {
				return
			}
			b := connectionBuilders[p]
			if dir == b.allowed || strings.HasPrefix(dir, b.allowed+"/") {
				return
			}
			for _, name := range b.names {
				if sel.Sel.Name == name {
					bad = append(bad, fset.Position(sel.Pos()).String()[len(repo)+1:]+": "+id.Name+"."+name)
				}
			}
		}
		// Constructing counts (a call, a composite literal, the package's default
		// dialer or transport); holding a *kafka.Writer built by pkg/stream does not.
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				check(n.Fun)
			case *ast.CompositeLit:
				check(n.Type)
			case *ast.SelectorExpr:
				if n.Sel.Name == "DefaultDialer" || n.Sel.Name == "DefaultTransport" {
					check(n)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bad {
		t.Errorf("%s builds a connection of its own: use pkg/stream (Kafka), pkg/avro (registry) or pkg/redisconn (Redis), which apply the TLS and credentials settings", b)
	}
}
