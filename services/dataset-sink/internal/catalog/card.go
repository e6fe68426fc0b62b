package catalog

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/consentflow/consentflow/services/dataset-sink/internal/table"
	"github.com/consentflow/consentflow/services/dataset-sink/manifest"
)

// datasetCard renders README.md with Hugging Face YAML front matter: its configs
// point data_files at the snapshot's Parquet files, relative to the pulled folder,
// so load_dataset("parquet", data_files=...) and load_dataset(<folder>) both work,
// and dataset_info.features gives the datasets features of table.Columns (the
// properties column is a list of {key, value} structs: datasets has no map type).
func datasetCard(m *manifest.Manifest) []byte {
	var b strings.Builder
	b.WriteString("---\n")
	fmt.Fprintf(&b, "pretty_name: %q\n", m.Dataset)
	b.WriteString("license: other\n")
	b.WriteString("tags:\n- consentflow\n- consented\n- anonymized\n")
	b.WriteString("dataset_info:\n  features:\n")
	writeFeatures(&b, table.Columns, "  ")
	b.WriteString("configs:\n- config_name: default\n  data_files:\n  - split: train\n    path:\n")
	if len(m.Files) == 0 {
		b.WriteString("    - data/*/*.parquet\n")
	}
	for _, f := range m.Files {
		fmt.Fprintf(&b, "    - %q\n", f.Path)
	}
	b.WriteString("---\n\n")
	fmt.Fprintf(&b, "# %s — snapshot %s\n\n", m.Dataset, m.ID)
	fmt.Fprintf(&b, "A snapshot tag of the Apache Iceberg table `%s` (table snapshot %d); these are the Parquet files of that snapshot. ", m.Table, m.IcebergSnapshotID)
	b.WriteString("Consented, anonymized interaction events published by consentflow's dataset sink. ")
	b.WriteString("Every row passed the consent check for the purpose at its server receive time; ")
	b.WriteString("direct identifiers are pseudonymized or dropped and free text is redacted.\n\n")
	fmt.Fprintf(&b, "| | |\n|---|---|\n| snapshot | `%s` |\n| parent | `%s` |\n| created | %s |\n| expires | %s |\n",
		m.ID, m.Parent, m.CreatedAt.Format("2006-01-02T15:04:05Z"), m.ExpiresAt.Format("2006-01-02T15:04:05Z"))
	fmt.Fprintf(&b, "| rows | %d |\n| files | %d |\n| bytes | %d |\n| consent policy version | `%s` |\n| erasure ledger position applied | %d |\n\n",
		m.Totals.Rows, m.Totals.Files, m.Totals.Bytes, m.PolicyVersion, m.ErasureLedgerPosition)
	b.WriteString("## Terms\n\nYou must delete this snapshot when it expires, and switch to newer snapshots: ")
	b.WriteString("users who withdraw consent are erased from later snapshots, and expired ones may still contain their rows.\n\n")
	b.WriteString(loadingSnippet)
	b.WriteString("Check files against `manifest.json` (sha256) before use.\n\n## Columns\n\n| name | type | nullable | description |\n|---|---|---|---|\n")
	for _, c := range table.Columns {
		fmt.Fprintf(&b, "| %s | %s | %v | %s |\n", c.Name, c.Type, c.Nullable, c.Description)
		for _, f := range c.Fields {
			fmt.Fprintf(&b, "| %s[].%s | %s | %v | %s |\n", c.Name, f.Name, f.Type, f.Nullable, f.Description)
		}
	}
	return []byte(b.String())
}

// loadingSnippet is the card's "Loading" section, run from the pulled folder.
const loadingSnippet = "## Loading\n\n```python\n" +
	"import datasets\n" +
	"ds = datasets.load_dataset(\"parquet\", data_files=\"data/*/*.parquet\", split=\"train\")\n" +
	"# or: datasets.load_dataset(\"path/to/this/folder\", split=\"train\")\n" +
	"# properties is a list of {\"key\", \"value\"} dicts, sorted by key:\n" +
	"props = {p[\"key\"]: p[\"value\"] for p in ds[0][\"properties\"]}\n\n" +
	"import duckdb\n" +
	"duckdb.sql(\"select map_from_entries(properties) as props, * exclude (properties) from 'data/*/*.parquet'\")\n" +
	"```\n\n"

// writeFeatures writes cols as Hugging Face datasets features (YAML list).
func writeFeatures(b *strings.Builder, cols []manifest.Column, indent string) {
	for _, c := range cols {
		fmt.Fprintf(b, "%s- name: %s\n", indent, c.Name)
		if len(c.Fields) > 0 {
			fmt.Fprintf(b, "%s  list:\n", indent)
			writeFeatures(b, c.Fields, indent+"  ")
			continue
		}
		fmt.Fprintf(b, "%s  dtype: %s\n", indent, featureDtype(c.Type))
	}
}

// featureDtype maps a table.Columns type to a datasets Value dtype.
func featureDtype(typ string) string {
	switch typ {
	case "timestamp[us, UTC]":
		return "timestamp[us, tz=UTC]"
	case "bool", "int32", "int64":
		return typ
	}
	return "string"
}

// croissant renders Croissant 1.0 JSON-LD metadata for a snapshot.
func croissant(m *manifest.Manifest) ([]byte, error) {
	context := map[string]any{
		"@language": "en", "@vocab": "https://schema.org/", "sc": "https://schema.org/",
		"cr": "http://mlcommons.org/croissant/", "rai": "http://mlcommons.org/croissant/RAI/",
		"dct": "http://purl.org/dc/terms/", "citeAs": "cr:citeAs", "column": "cr:column",
		"conformsTo": "dct:conformsTo", "data": map[string]any{"@id": "cr:data", "@type": "@json"},
		"dataType": map[string]any{"@id": "cr:dataType", "@type": "@vocab"}, "examples": map[string]any{"@id": "cr:examples", "@type": "@json"},
		"extract": "cr:extract", "field": "cr:field", "fileObject": "cr:fileObject", "fileProperty": "cr:fileProperty",
		"fileSet": "cr:fileSet", "format": "cr:format", "includes": "cr:includes", "isLiveDataset": "cr:isLiveDataset",
		"jsonPath": "cr:jsonPath", "key": "cr:key", "md5": "cr:md5", "parentField": "cr:parentField", "path": "cr:path",
		"recordSet": "cr:recordSet", "references": "cr:references", "regex": "cr:regex", "repeated": "cr:repeated",
		"replace": "cr:replace", "separator": "cr:separator", "source": "cr:source", "subField": "cr:subField", "transform": "cr:transform",
	}
	var dist []map[string]any
	for _, f := range m.Files {
		dist = append(dist, map[string]any{
			"@type": "cr:FileObject", "@id": f.Path, "name": f.Path, "contentUrl": f.Path,
			"contentSize": fmt.Sprintf("%d B", f.Size), "encodingFormat": "application/x-parquet", "sha256": f.SHA256,
		})
	}
	dist = append(dist, map[string]any{
		"@type": "cr:FileSet", "@id": "parquet-files", "name": "parquet-files",
		"encodingFormat": "application/x-parquet", "includes": "data/*/*.parquet",
	})
	var fields []map[string]any
	for _, c := range table.Columns {
		fields = append(fields, croissantField(c))
	}
	doc := map[string]any{
		"@context": context, "@type": "sc:Dataset", "conformsTo": "http://mlcommons.org/croissant/1.0",
		"name": m.Dataset, "description": "Consented, anonymized interaction events (consentflow snapshot " + m.ID + ").",
		"version": m.ID, "datePublished": m.CreatedAt.Format("2006-01-02T15:04:05Z"), "license": "other",
		"url": "snapshots/" + m.ID, "distribution": dist,
		"recordSet": []map[string]any{{"@type": "cr:RecordSet", "@id": "rows", "name": "rows", "field": fields}},
	}
	return json.MarshalIndent(doc, "", "  ")
}

// croissantField describes column c: a list<struct> column is a repeated field
// whose subfields extract the struct's fields from each element.
func croissantField(c manifest.Column) map[string]any {
	source := func(path string) map[string]any {
		s := map[string]any{"fileSet": map[string]any{"@id": "parquet-files"}, "extract": map[string]any{"column": c.Name}}
		if path != "" {
			s["transform"] = map[string]any{"jsonPath": path}
		}
		return s
	}
	f := map[string]any{"@type": "cr:Field", "@id": "rows/" + c.Name, "name": c.Name, "description": c.Description}
	if len(c.Fields) == 0 {
		f["dataType"], f["source"] = croissantType(c.Type), source("")
		return f
	}
	var sub []map[string]any
	for _, sf := range c.Fields {
		sub = append(sub, map[string]any{"@type": "cr:Field", "@id": "rows/" + c.Name + "/" + sf.Name, "name": sf.Name,
			"description": sf.Description, "dataType": croissantType(sf.Type), "source": source(sf.Name)})
	}
	f["repeated"], f["subField"] = true, sub
	return f
}

func croissantType(typ string) string {
	switch typ {
	case "bool":
		return "sc:Boolean"
	case "int32", "int64":
		return "sc:Integer"
	case "timestamp[us, UTC]":
		return "sc:DateTime"
	}
	return "sc:Text"
}
