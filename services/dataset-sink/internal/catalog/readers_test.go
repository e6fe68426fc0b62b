package catalog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/consentflow/consentflow/services/dataset-sink/internal/catalog"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/sinktest"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/table"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/writer"
	"github.com/consentflow/consentflow/services/dataset-sink/manifest"
)

// pulledSnapshot writes rows over two days through the writer (with and without
// properties and optional values), takes a snapshot and lays it out as
// `consentflow snapshot pull` does: README.md, croissant.json, manifest.json and
// the files under their manifest paths.
func pulledSnapshot(t *testing.T, n int) (string, manifest.Manifest) {
	t.Helper()
	ctx := context.Background()
	clock := sinktest.NewClock()
	p := sinktest.NewParts(t, t.TempDir(), clock, 1000)
	for i := range n {
		ev := sinktest.Event(i, fmt.Sprintf("k1:s%d", i%7), clock.Now().Add(time.Duration(i)*30*time.Minute))
		switch i % 3 {
		case 0:
			ev.Properties = nil
		case 1:
			ev.Properties = map[string]string{"plan": "pro", "feature": "search", "page": "/issues/1"}
			ev.ConsentVersion, ev.TenantConsentVersion = "1:7", "0:3"
			ev.OccurredAt, ev.Session = ev.ReceivedAt, "k1:sess"
		}
		row := table.RowFromEvent(&ev)
		if _, err := p.Writer.Append(ctx, writer.Record{Partition: i % 2, Offset: int64(i / 2), Row: &row}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Writer.CloseAll(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := p.Catalog.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	copyObj := func(key, to string) {
		obj, err := p.Store.Open(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		defer obj.Close()
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(to)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := io.Copy(f, io.NewSectionReader(obj, 0, obj.Info().Size)); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range m.Files {
		copyObj(m.Dataset+"/"+f.Path, filepath.Join(dir, filepath.FromSlash(f.Path)))
	}
	for _, name := range []string{catalog.CardName, catalog.CroissantName, catalog.ManifestName} {
		obj, err := p.Catalog.SnapshotObject(ctx, m, name)
		if err != nil {
			t.Fatal(err)
		}
		copyObj(obj.Info().Key, filepath.Join(dir, name))
		obj.Close()
	}
	return dir, m
}

// readersScript loads a pulled snapshot with pyarrow, DuckDB and Hugging Face
// datasets (data files, and the folder through the dataset card) and prints what
// each saw as JSON.
const readersScript = `
import json, os, sys
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
d, cache = sys.argv[1], sys.argv[2]
m = json.load(open(os.path.join(d, "manifest.json")))
files = [os.path.join(d, f["path"]) for f in m["files"]]
res = {}
import pyarrow as pa, pyarrow.parquet as pq
t = pa.concat_tables([pq.read_table(f) for f in files])
res["pyarrow_rows"] = t.num_rows
res["pyarrow_properties"] = str(t.schema.field("properties").type)
res["pyarrow_first_properties"] = [r for r in t.column("properties").to_pylist() if len(r) > 1][0]
import duckdb
con = duckdb.connect()
res["duckdb_rows"] = con.execute("SELECT count(*) FROM read_parquet(?)", [files]).fetchone()[0]
res["duckdb_properties"] = con.execute("SELECT typeof(properties) FROM read_parquet(?) LIMIT 1", [files]).fetchone()[0]
res["duckdb_plan_rows"] = con.execute(
    "SELECT count(*) FROM read_parquet(?) WHERE map_from_entries(properties)['plan'] = 'pro'", [files]).fetchone()[0]
import datasets
datasets.disable_progress_bars()
ds = datasets.load_dataset("parquet", data_files=files, split="train", cache_dir=cache)
res["datasets_rows"] = ds.num_rows
res["datasets_properties"] = str(ds.features["properties"])
res["datasets_first_properties"] = [r for r in ds["properties"] if len(r) > 1][0]
folder = datasets.load_dataset(d, split="train", cache_dir=cache)
res["datasets_folder_rows"] = folder.num_rows
res["datasets_card_features_match"] = datasets.load_dataset_builder(d, cache_dir=cache).info.features == ds.features
# The dataset card's own loading snippet, run from the pulled folder.
card = open(os.path.join(d, "README.md"), encoding="utf-8").read()
snippet = card.split("` + "```python" + `\n", 1)[1].split("` + "```" + `", 1)[0]
os.chdir(d)
ns = {}
exec(snippet, ns)
res["card_snippet_rows"] = ns["ds"].num_rows
res["card_snippet_duckdb_rows"] = len(ns["duckdb"].sql("select map_from_entries(properties) as props, * exclude (properties) from 'data/*/*.parquet'").fetchall())
print(json.dumps(res))
`

// TestSnapshotThirdPartyReaders loads a snapshot with the real pyarrow, DuckDB
// and Hugging Face datasets. It runs when SINK_PYTHON is a python with those
// packages (PY=$(bash scripts/pyenv.sh | tail -n1); SINK_PYTHON=$PY go test ...).
func TestSnapshotThirdPartyReaders(t *testing.T) {
	py := os.Getenv("SINK_PYTHON")
	if py == "" {
		t.Skip("SINK_PYTHON not set (a python with pyarrow, duckdb and datasets: bash scripts/pyenv.sh | tail -n1)")
	}
	const n = 60
	dir, m := pulledSnapshot(t, n)
	if m.Totals.Rows != n || len(m.Files) < 2 {
		t.Fatalf("snapshot: %d rows in %d files", m.Totals.Rows, len(m.Files))
	}
	cmd := exec.Command(py, "-c", readersScript, dir, t.TempDir())
	cmd.Env = append(os.Environ(), "HF_HOME="+t.TempDir())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("readers: %v\n%s", err, stderr.String())
	}
	t.Logf("snapshot %s: %s", dir, out)
	var res struct {
		PyarrowRows, DuckdbRows, DuckdbPlanRows, DatasetsRows, DatasetsFolderRows int64
		CardSnippetRows, CardSnippetDuckdbRows                                    int64
		PyarrowProperties, DuckdbProperties, DatasetsProperties                   string
		PyarrowFirstProperties, DatasetsFirstProperties                           []table.Property
		DatasetsCardFeaturesMatch                                                 bool
	}
	if err := json.Unmarshal(snakeToCamelKeys(out), &res); err != nil {
		t.Fatalf("decode %s: %v", out, err)
	}
	for name, got := range map[string]int64{"pyarrow": res.PyarrowRows, "duckdb": res.DuckdbRows,
		"datasets": res.DatasetsRows, "datasets (folder, card)": res.DatasetsFolderRows,
		"card snippet (datasets)": res.CardSnippetRows, "card snippet (duckdb)": res.CardSnippetDuckdbRows} {
		if got != n {
			t.Errorf("%s read %d rows, want %d", name, got, n)
		}
	}
	if res.DuckdbPlanRows != 2*n/3 {
		t.Errorf("duckdb map_from_entries(properties)['plan'] matched %d rows, want %d", res.DuckdbPlanRows, 2*n/3)
	}
	want := []table.Property{{Key: "feature", Value: "search"}, {Key: "page", Value: "/issues/1"}, {Key: "plan", Value: "pro"}}
	for name, got := range map[string][]table.Property{"pyarrow": res.PyarrowFirstProperties, "datasets": res.DatasetsFirstProperties} {
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s properties %v, want %v (sorted key/value pairs)", name, got, want)
		}
	}
	if !strings.HasPrefix(res.PyarrowProperties, "list<") || !strings.Contains(res.DuckdbProperties, "STRUCT") {
		t.Errorf("properties types: pyarrow %s, duckdb %s", res.PyarrowProperties, res.DuckdbProperties)
	}
	if !res.DatasetsCardFeaturesMatch {
		t.Error("the dataset card's dataset_info.features differ from the features datasets infers from the Parquet files")
	}
}

// snakeToCamelKeys maps the script's snake_case keys onto the Go field names
// (encoding/json matches case-insensitively, so removing '_' is enough).
func snakeToCamelKeys(b []byte) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return b
	}
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		out[strings.ReplaceAll(k, "_", "")] = v
	}
	nb, _ := json.Marshal(out)
	return nb
}
