package schema

import (
	"strconv"
	"strings"
)

// Version is a consent change's position on consent.changes, its version: the
// partition and offset, written "p:o".
type Version struct {
	Partition int
	Offset    int64
}

// ParseVersion parses "p:o"; ok is false for "" or a malformed value.
func ParseVersion(s string) (v Version, ok bool) {
	p, o, found := strings.Cut(s, ":")
	if !found {
		return Version{}, false
	}
	pi, err1 := strconv.Atoi(p)
	oi, err2 := strconv.ParseInt(o, 10, 64)
	if err1 != nil || err2 != nil || pi < 0 || oi < 0 {
		return Version{}, false
	}
	return Version{Partition: pi, Offset: oi}, true
}

// String formats the version as "p:o".
func (v Version) String() string {
	return strconv.Itoa(v.Partition) + ":" + strconv.FormatInt(v.Offset, 10)
}

// NewerThan reports whether v is a later change of the same key than w. The
// changes of one key always share a partition, so only offsets are compared; the
// versions of different partitions are not ordered and NewerThan is false.
func (v Version) NewerThan(w Version) bool {
	return v.Partition == w.Partition && v.Offset > w.Offset
}
