package table

import (
	"fmt"
	"strconv"

	"github.com/apache/iceberg-go"
)

// Schema is the dataset's Iceberg schema, in the order of Columns. Field ids are
// provisional: a catalog assigns its own when it creates the table, so code that
// reads a table uses the table's schema (by name), never these ids.
func Schema() *iceberg.Schema {
	id := 0
	next := func() int { id++; return id }
	str := iceberg.PrimitiveTypes.String
	field := func(name string, typ iceberg.Type, required bool, doc string) iceberg.NestedField {
		return iceberg.NestedField{ID: next(), Name: name, Type: typ, Required: required, Doc: doc}
	}
	var fields []iceberg.NestedField
	for _, c := range Columns {
		if c.Name == "properties" {
			list := &iceberg.ListType{ElementRequired: true}
			f := iceberg.NestedField{ID: next(), Name: c.Name, Required: true, Doc: c.Description}
			list.ElementID = next()
			list.Element = &iceberg.StructType{FieldList: []iceberg.NestedField{
				field("key", str, true, c.Fields[0].Description), field("value", str, true, c.Fields[1].Description)}}
			f.Type = list
			fields = append(fields, f)
			continue
		}
		fields = append(fields, field(c.Name, icebergType(c.Type), !c.Nullable, c.Description))
	}
	return iceberg.NewSchema(0, fields...)
}

func icebergType(typ string) iceberg.Type {
	switch typ {
	case "string":
		return iceberg.PrimitiveTypes.String
	case "bool":
		return iceberg.PrimitiveTypes.Bool
	case "int32":
		return iceberg.PrimitiveTypes.Int32
	case "int64":
		return iceberg.PrimitiveTypes.Int64
	case "timestamp[us, UTC]":
		return iceberg.PrimitiveTypes.TimestampTz
	}
	panic("table: no Iceberg type for column type " + typ)
}

// PartitionField is the name of the table's one partition field: the UTC day of
// received_at (Iceberg's day transform), as the Parquet layout's dt= was.
const PartitionField = "received_day"

// PartitionSpec partitions by day(received_at).
func PartitionSpec(sc *iceberg.Schema) (iceberg.PartitionSpec, error) {
	f, ok := sc.FindFieldByName("received_at")
	if !ok {
		return iceberg.PartitionSpec{}, fmt.Errorf("schema has no received_at")
	}
	return iceberg.NewPartitionSpecOpts(iceberg.AddPartitionFieldBySourceID(f.ID, PartitionField, iceberg.DayTransform{}, sc, nil))
}

// PrivateColumns carry pseudonyms, free text or network prefixes: their values
// must never be copied into table metadata, so manifests keep value and null
// counts for them but no lower or upper bounds (Iceberg metrics mode "counts").
// Bounds in manifests outlive the rows they describe until the manifest itself is
// rewritten or expired; a bound holding an erased subject's pseudonym would be a
// copy of it that no row delete removes.
var PrivateColumns = []string{"event_id", "subject", "tenant", "session", "text", "ip_prefix", "consent_version", "tenant_consent_version"}

// UniqueColumns hold a distinct value in (nearly) every row of a data file:
// event_id is unique by contract and deduplicated, and a partition's offsets
// never repeat (a file holds the rows of a few partitions). A dictionary of
// them never pays — it grows to its size limit (write.parquet.dict-size-bytes)
// and the column falls back to plain encoding — yet every value was hashed
// into it first, and a string one allocated in arrow-go's memo table.
var UniqueColumns = []string{"event_id", "kafka_offset"}

// Properties are the table properties the sink creates the table with and
// keeps in force: format v2, zstd Parquet, copy-on-write deletes, no bounds for
// private columns, old metadata files deleted after commits, manifests merged.

func Properties(targetFileBytes int64, rowGroupRows int64) iceberg.Properties {
	p := iceberg.Properties{
		"format-version":                             "2",
		"write.format.default":                       "parquet",
		"write.parquet.compression-codec":            "zstd",
		"write.delete.mode":                          "copy-on-write",
		"write.update.mode":                          "copy-on-write",
		"write.merge.mode":                           "copy-on-write",
		"write.metadata.delete-after-commit.enabled": "true",
		"write.metadata.previous-versions-max":       "20",
		"commit.manifest-merge.enabled":              "true",
		"commit.manifest.min-count-to-merge":         "20",
		"write.metadata.metrics.default":             "truncate(16)",
		"write.target-file-size-bytes":               strconv.FormatInt(targetFileBytes, 10),
		"write.parquet.row-group-limit":              strconv.FormatInt(rowGroupRows, 10),
		"history.expire.min-snapshots-to-keep":       "1",
		"gc.enabled":                                 "true",
	}
	for _, c := range PrivateColumns {
		p["write.metadata.metrics.column."+c] = "counts"
	}
	for _, c := range UniqueColumns {
		p["write.parquet.dict-encoding-enabled.column."+c] = "false"
	}
	return p
}
