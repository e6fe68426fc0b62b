package table

import "testing"

func TestDataFileNames(t *testing.T) {
	for _, f := range []DataFile{
		{Day: "2025-11-28", Topic: "events.curated", Partition: 3, First: 10, Last: 99},
		{Day: "2025-11-28", Topic: "x.events", Partition: 0, First: 0, Last: 0, Erased: 7},
	} {
		got, err := ParseDataFile(f.Key())
		if err != nil || got != f {
			t.Fatalf("%s: got %+v, %v", f.Key(), got, err)
		}
	}
	for _, bad := range []string{"data/dt=2025-11-28/x.parquet", "data/x/t+0+1-2.parquet", "data/dt=2025-11-28/t+0+5-2.parquet"} {
		if _, err := ParseDataFile(bad); err == nil {
			t.Fatalf("%s parsed", bad)
		}
	}
}
