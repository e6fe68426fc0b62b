package redact

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// sortCands orders like a stable comparison sort on the same keys (the
// truth: slices.SortStableFunc), below and above the radix threshold, with
// many equal keys so that stability shows, and allocates nothing once its
// scratch has grown.
func TestSortCandsIsAStableSortByKey(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var s scratch
	types := []string{Person, Location, EmailAddress, PhoneNumber}
	for _, n := range []int{0, 1, 2, 3, 10, 63, 64, 65, 500} {
		for range 20 {
			cs := make([]cand, n)
			for i := range cs {
				st := rng.IntN(40)
				cs[i] = cand{st, st + 1 + rng.IntN(6), types[rng.IntN(len(types))], rng.IntN(4)}
			}
			for _, key := range []func(*cand) uint64{byStart, byPriority} {
				want := slices.Clone(cs)
				slices.SortStableFunc(want, func(a, b cand) int {
					ka, kb := key(&a), key(&b)
					switch {
					case ka < kb:
						return -1
					case ka > kb:
						return 1
					}
					return 0
				})
				got := slices.Clone(cs)
				s.sortCands(got, key)
				if !slices.Equal(got, want) {
					t.Fatalf("n=%d: sortCands gave %v, want %v", n, got, want)
				}
			}
		}
	}
	cs := make([]cand, 40)
	allocs := testing.AllocsPerRun(100, func() { s.sortCands(cs, byPriority) })
	if allocs != 0 {
		t.Fatalf("%v allocations per sort of 40 candidates", allocs)
	}
}
