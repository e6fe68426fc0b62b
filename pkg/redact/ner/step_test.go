package ner

import (
	"math"
	"math/rand/v2"
	"testing"
)

// stepFull is the decoder's Viterbi step as it was before issue 16 round 8:
// every predecessor tried for every tag, moves that are not allowed scoring
// -Inf through vtrans.
func (m *Model) stepFull(score [][NumTags]float32, back [][NumTags]uint8, i int, em [NumTags]float32) {
	if i == 0 {
		for t := 0; t < NumTags; t++ {
			score[0][t] = em[t] + m.vtrans[NumTags][t]
		}
		return
	}
	prev, cur, bk := &score[i-1], &score[i], &back[i]
	for t := 0; t < NumTags; t++ {
		best, arg := prev[0]+m.vtrans[0][t], 0
		for p := 1; p < NumTags; p++ {
			if v := prev[p] + m.vtrans[p][t]; v > best {
				best, arg = v, p
			}
		}
		cur[t] = best + em[t]
		bk[t] = uint8(arg)
	}
}

// TestStepIsViterbiStep holds the decoder's Viterbi step to the full loop it
// replaced (stepFull) and, for finite scores, to viterbiStep, the step that
// checks allowed() for every move: the same score bits and back pointers for
// every tag, on the shipped transitions and on random ones, with previous
// scores drawn from a few values (ties decide back pointers) and, against
// stepFull, with -Inf, +Inf and NaN among them (viterbiStep skips a move
// that is not allowed where the full loop adds -Inf: +Inf + -Inf is NaN).
func TestStepIsViterbiStep(t *testing.T) {
	base, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	vals := []float32{0, 1, -1, 0.5, 2, -2.25, -inf, inf, nan}
	rng := rand.New(rand.NewPCG(13, 16))
	pick := func() float32 {
		if rng.IntN(3) == 0 {
			return vals[rng.IntN(len(vals))]
		}
		return float32(rng.IntN(7)-3) * 0.5
	}
	models := []*Model{base}
	for range 8 {
		m := *base
		for p := range m.trans {
			for q := range m.trans[p] {
				m.trans[p][q] = float32(rng.IntN(5)-2) * 0.5
				if rng.IntN(10) == 0 {
					m.trans[p][q] = vals[rng.IntN(len(vals))]
				}
			}
		}
		m.compile()
		models = append(models, &m)
	}
	same := func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b) }
	cases := 0
	for mi, m := range models {
		for range 20000 {
			want := make([][NumTags]float32, 2)
			wback := make([][NumTags]uint8, 2)
			var em [NumTags]float32
			for k := range NumTags {
				want[0][k] = pick()
				em[k] = pick()
			}
			got := [][NumTags]float32{want[0], {}}
			gback := make([][NumTags]uint8, 2)
			finite := true
			for k := range NumTags {
				finite = finite && !math.IsInf(float64(want[0][k]), 0) && want[0][k] == want[0][k] &&
					!math.IsInf(float64(em[k]), 0) && em[k] == em[k]
			}
			if finite && rng.IntN(2) == 0 && mi == 0 {
				viterbiStep(m, want, wback, 1, em)
			} else {
				m.stepFull(want, wback, 1, em)
			}
			m.step(got, gback, 1, em)
			for k := range NumTags {
				if !same(got[1][k], want[1][k]) || gback[1][k] != wback[1][k] {
					t.Fatalf("model %d, prev %v, em %v, tag %s: step gives %v from %d, the reference %v from %d",
						mi, want[0], em, TagNames[k], got[1][k], gback[1][k], want[1][k], wback[1][k])
				}
			}
			cases++
		}
	}
	t.Logf("%d steps compared", cases)
}
