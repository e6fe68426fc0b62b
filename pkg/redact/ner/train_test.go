package ner

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Averaging several seeds' runs gives, for every feature any run created,
// the mean of the runs' float weights (0 where a run lacks the feature), and
// the mean of their transitions; the mean is computed here from the runs.
func TestAveragedModelIsTheMeanOfItsRuns(t *testing.T) {
	vocab := []string{"please", "meet", "buy", "today"}
	var runs []*Weights
	for seed := uint64(1); seed <= 3; seed++ {
		r := rand.New(rand.NewPCG(seed, 9)) // each run its own texts, like redact-train --seeds
		runs = append(runs, TrainWeights(toy(r, 300), TrainConfig{Epochs: 2, Seed: seed, Vocab: vocab}))
	}
	want := map[uint64][NumTags]float64{}
	for _, run := range runs {
		for i, k := range run.m.keys {
			if k == 0 {
				continue
			}
			v := want[k]
			for tg := 0; tg < NumTags; tg++ {
				v[tg] += float64(run.m.w[int(run.m.vals[i])+tg]) / float64(len(runs))
			}
			want[k] = v
		}
	}
	only := 0 // features some run lacks: the case where "missing counts as 0" matters
	for k := range want {
		for _, run := range runs {
			if run.m.lookup(k) < 0 {
				only++
				break
			}
		}
	}
	require.Positive(t, only, "the runs should not share every feature")

	avg, err := Average(runs...)
	require.NoError(t, err)
	m := avg.Model(0) // no pruning: every feature of every run
	assert.Equal(t, len(want), m.Features())
	for k, v := range want {
		idx := m.lookup(k)
		require.GreaterOrEqual(t, idx, int32(0), "feature %x lost", k)
		for tg := 0; tg < NumTags; tg++ {
			assert.InDelta(t, v[tg], float64(m.w[int(idx)+tg]), 1e-5, "feature %x tag %d", k, tg)
		}
	}
	for p := 0; p <= NumTags; p++ {
		for tg := 0; tg < NumTags; tg++ {
			var mean float64
			for _, run := range runs {
				mean += float64(run.m.trans[p][tg]) / float64(len(runs))
			}
			assert.InDelta(t, mean, float64(m.trans[p][tg]), 1e-5, "transition %d→%d", p, tg)
		}
	}
	// the averaged model still reads the context the runs learnt
	assert.Equal(t, []uint8{TagO, TagO, TagBPer, TagO}, tagsOf(m, "please meet Quuuzxq today"))
	assert.Equal(t, []uint8{TagO, TagO, TagO, TagO}, tagsOf(m, "please buy Quuuzxq today"))

	// pruned back to n features, it keeps the n whose largest weight is largest
	const n = 10
	small := avg.ModelAtMost(0, n)
	assert.Equal(t, n, small.Features())
	var kept, dropped []float64
	for k, v := range want {
		mag := 0.0
		for _, x := range v {
			mag = max(mag, math.Abs(x))
		}
		if small.lookup(k) >= 0 {
			kept = append(kept, mag)
		} else {
			dropped = append(dropped, mag)
		}
	}
	require.Len(t, kept, n)
	assert.GreaterOrEqual(t, slices.Min(kept), slices.Max(dropped))
	assert.Equal(t, len(want), avg.Kept(0))

	// runs with different vocabularies cannot be averaged
	other := TrainWeights(toy(rand.New(rand.NewPCG(4, 9)), 50), TrainConfig{Epochs: 1, Seed: 4, Vocab: vocab[:3]})
	_, err = Average(runs[0], other)
	assert.Error(t, err)
	_, err = Average()
	assert.Error(t, err)
}
