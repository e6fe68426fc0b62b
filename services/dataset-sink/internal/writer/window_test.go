package writer

import (
	"fmt"
	"testing"
)

func TestIDWindowForgetsOldest(t *testing.T) {
	w := newIDWindow(3)
	for _, id := range []string{"a", "b", "c", "a", "d"} { // "a" again is a no-op
		w.add(hashIDString(id))
	}
	for id, want := range map[string]bool{"a": false, "b": true, "c": true, "d": true} {
		if got := w.has(hashIDString(id)); got != want {
			t.Errorf("%s: has %v, want %v", id, got, want)
		}
	}
	if w.len() != 3 {
		t.Fatalf("ring %d", w.len())
	}
}

// TestIDWindowMatchesExactWindow drives a small window through many evictions
// (with index collisions and wrap-around) against a plain model of "the last N".
func TestIDWindowMatchesExactWindow(t *testing.T) {
	const limit = 700
	w := newIDWindow(limit)
	var model []string
	inModel := func(id string) bool {
		for _, m := range model {
			if m == id {
				return true
			}
		}
		return false
	}
	for i := range 20_000 {
		id := fmt.Sprint((i * 7919) % 2_500) // revisits ids, in and out of the window
		if got, want := w.has(hashIDString(id)), inModel(id); got != want {
			t.Fatalf("step %d id %s: has %v, want %v", i, id, got, want)
		}
		if !inModel(id) {
			model = append(model, id)
			if len(model) > limit {
				model = model[1:]
			}
		}
		w.add(hashIDString(id))
	}
}
