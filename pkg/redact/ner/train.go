package ner

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Sentence is one training example: a text and a tag per token of
// Tokenize(text).
type Sentence struct {
	Text string
	Tags []uint8
}

// TrainConfig sets the averaged perceptron's training.
type TrainConfig struct {
	Epochs int
	Seed   uint64
	// Dropout is the probability that a name/place token's lexicon flags
	// are hidden in one pass, so the model also learns from context.
	Dropout float64
	// MinWeight prunes features whose largest absolute averaged weight is
	// below it.
	MinWeight float32
	// Vocab are the words (any case) whose identity is a feature.
	Vocab []string
	// Progress, when set, is called after each epoch.
	Progress func(epoch, errors, tokens int)
}

type trainer struct {
	m     *Model
	acc   []float32 // accumulated weight * time for averaging
	ts    []int32   // last update time per weight
	tacc  [NumTags + 1][NumTags]float32
	tts   [NumTags + 1][NumTags]int32
	clock int32
}

func (tr *trainer) upd(idx int32, t int, v float32) {
	k := int(idx) + t
	tr.acc[k] += float32(tr.clock-tr.ts[k]) * tr.m.w[k]
	tr.ts[k] = tr.clock
	tr.m.w[k] += v
}

func (tr *trainer) updT(p, t int, v float32) {
	tr.tacc[p][t] += float32(tr.clock-tr.tts[p][t]) * tr.m.trans[p][t]
	tr.tts[p][t] = tr.clock
	tr.m.trans[p][t] += v
}

// Train fits a model on the sentences.
func Train(sents []Sentence, cfg TrainConfig) *Model {
	return TrainWeights(sents, cfg).Model(cfg.MinWeight)
}

// Weights are the averaged perceptron weights of one or more training runs
// in float, before pruning and quantisation.
type Weights struct {
	m *Model // keys, vals, w, trans and vocab; no decoder table
}

// Model prunes features whose weights are all below min (in absolute value)
// and builds the decoder.
func (ws *Weights) Model(min float32) *Model {
	out := prune(ws.m, min)
	out.compile()
	return out
}

// Kept returns how many features Model(min) keeps.
func (ws *Weights) Kept(min float32) int {
	n := 0
	for _, k := range ws.m.keys {
		if k != 0 && ws.maxAbs(k) >= min {
			n++
		}
	}
	return n
}

// ModelAtMost is Model(min) keeping at most n features: those whose largest
// absolute weight is largest (an averaged model holds every run's features,
// so it is pruned back to a single run's size: same table, same lookups).
func (ws *Weights) ModelAtMost(min float32, n int) *Model {
	var mags []float32
	for _, k := range ws.m.keys {
		if k != 0 {
			if v := ws.maxAbs(k); v >= min {
				mags = append(mags, v)
			}
		}
	}
	if n >= 0 && len(mags) > n {
		sort.Slice(mags, func(i, j int) bool { return mags[i] > mags[j] })
		min = math.Nextafter32(mags[n], float32(math.Inf(1)))
	}
	return ws.Model(min)
}

func (ws *Weights) maxAbs(k uint64) float32 {
	idx := ws.m.lookup(k)
	var v float32
	for t := 0; t < NumTags; t++ {
		v = max(v, float32(math.Abs(float64(ws.m.w[int(idx)+t]))))
	}
	return v
}

// Average returns the mean of the runs' weights, feature by feature and
// transition by transition; a feature that a run never created weighs 0 in
// it. The runs must share one vocabulary (TrainConfig.Vocab), since a word in
// one run's vocabulary is a feature there and a shape in another's.
func Average(runs ...*Weights) (*Weights, error) {
	if len(runs) == 0 {
		return nil, errors.New("ner: nothing to average")
	}
	voc := runs[0].m.vocab
	n := 0
	for _, r := range runs {
		if len(r.m.vocab) != len(voc) {
			return nil, fmt.Errorf("ner: runs have vocabularies of %d and %d words", len(voc), len(r.m.vocab))
		}
		for k := range r.m.vocab {
			if _, ok := voc[k]; !ok {
				return nil, errors.New("ner: runs have different vocabularies")
			}
		}
		n += r.m.Features()
	}
	out := &Model{vocab: voc}
	out.alloc(n)
	inv := 1 / float32(len(runs))
	for _, r := range runs {
		for i, k := range r.m.keys {
			if k == 0 {
				continue
			}
			idx := out.insert(k)
			for t := 0; t < NumTags; t++ {
				out.w[int(idx)+t] += r.m.w[int(r.m.vals[i])+t] * inv
			}
		}
		for p := range out.trans {
			for t := range out.trans[p] {
				out.trans[p][t] += r.m.trans[p][t] * inv
			}
		}
	}
	return &Weights{m: out}, nil
}

// TrainWeights fits the averaged perceptron on the sentences and returns its
// float weights (Train = TrainWeights(...).Model(cfg.MinWeight)).
func TrainWeights(sents []Sentence, cfg TrainConfig) *Weights {
	Load()
	m := &Model{vocab: map[uint64]int32{}}
	for _, w := range cfg.Vocab {
		k := hashBytes(FoldAppend(nil, w))
		if _, ok := m.vocab[k]; !ok {
			m.vocab[k] = int32(len(m.vocab))
		}
	}
	// tokenise once; features are recomputed per pass (dropout changes them)
	type ex struct {
		toks []Token
		tags []uint8
	}
	exs := make([]ex, 0, len(sents))
	for _, s := range sents {
		toks := Tokenize(s.Text, nil)
		if len(toks) != len(s.Tags) {
			panic("ner: tags do not match tokens of " + s.Text)
		}
		m.SetVocab(toks)
		exs = append(exs, ex{toks, s.Tags})
	}
	m.alloc(1 << 21)
	tr := &trainer{m: m}
	r := rand.New(rand.NewPCG(cfg.Seed, 7))
	pred := make([]uint8, 256)
	var s Scratch
	var feats [][]uint64
	var saved []uint32
	for ep := 0; ep < cfg.Epochs; ep++ {
		r.Shuffle(len(exs), func(i, j int) { exs[i], exs[j] = exs[j], exs[i] })
		errs, toks := 0, 0
		for _, e := range exs {
			tr.clock++
			n := len(e.toks)
			if cap(pred) < n {
				pred = make([]uint8, n)
			}
			pred = pred[:n]
			// dropout of lexicon flags on entity tokens
			saved = saved[:0]
			for i := range e.toks {
				saved = append(saved, e.toks[i].Flags)
				if e.tags[i] != TagO && cfg.Dropout > 0 && r.Float64() < cfg.Dropout {
					e.toks[i].Flags &^= nameMask
				}
			}
			// features once per example and pass; insert new ones
			for len(feats) < n {
				feats = append(feats, nil)
			}
			for i := 0; i < n; i++ {
				feats[i] = Features(e.toks, i, feats[i][:0])
			}
			tr.decodeFeats(feats[:n], pred, &s)
			bad := false
			for i := 0; i < n; i++ {
				if pred[i] != e.tags[i] {
					bad = true
					errs++
				}
			}
			toks += n
			if bad {
				for i := 0; i < n; i++ {
					g, p := int(e.tags[i]), int(pred[i])
					gp, pp := NumTags, NumTags
					if i > 0 {
						gp, pp = int(e.tags[i-1]), int(pred[i-1])
					}
					if g == p && gp == pp {
						continue
					}
					if g != p {
						for _, f := range feats[i] {
							idx := m.insert(f)
							if int(idx)+NumTags > len(tr.acc) {
								tr.acc = append(tr.acc, make([]float32, NumTags)...)
								tr.ts = append(tr.ts, make([]int32, NumTags)...)
							}
							tr.upd(idx, g, 1)
							tr.upd(idx, p, -1)
						}
					}
					tr.updT(gp, g, 1)
					tr.updT(pp, p, -1)
				}
			}
			for i := range e.toks {
				e.toks[i].Flags = saved[i]
			}
		}
		if cfg.Progress != nil {
			cfg.Progress(ep+1, errs, toks)
		}
	}
	// average
	T := float32(tr.clock)
	for k := range m.w {
		tr.acc[k] += float32(tr.clock-tr.ts[k]) * m.w[k]
		m.w[k] = tr.acc[k] / T
	}
	for p := range m.trans {
		for t := range m.trans[p] {
			tr.tacc[p][t] += float32(tr.clock-tr.tts[p][t]) * m.trans[p][t]
			m.trans[p][t] = tr.tacc[p][t] / T
		}
	}
	return &Weights{m: m}
}

// decodeFeats is Decode on precomputed features.
func (tr *trainer) decodeFeats(feats [][]uint64, tags []uint8, s *Scratch) {
	m := tr.m
	n := len(feats)
	if cap(s.score) < n {
		s.score = make([][NumTags]float32, n)
		s.back = make([][NumTags]uint8, n)
	}
	score, back := s.score[:n], s.back[:n]
	for i := 0; i < n; i++ {
		var em [NumTags]float32
		for _, f := range feats[i] {
			if k := m.lookup(f); k >= 0 {
				for t := range em {
					em[t] += m.w[int(k)+t]
				}
			}
		}
		viterbiStep(m, score, back, i, em)
	}
	backtrack(score, back, tags)
}

func prune(m *Model, min float32) *Model {
	out := &Model{vocab: m.vocab, trans: m.trans}
	n := 0
	keep := func(idx int32) bool {
		for t := 0; t < NumTags; t++ {
			if v := m.w[int(idx)+t]; v >= min || v <= -min {
				return true
			}
		}
		return false
	}
	for i, k := range m.keys {
		if k != 0 && keep(m.vals[i]) {
			n++
		}
	}
	out.alloc(n)
	for i, k := range m.keys {
		if k != 0 && keep(m.vals[i]) {
			idx := out.insert(k)
			copy(out.w[idx:idx+NumTags], m.w[m.vals[i]:m.vals[i]+NumTags])
		}
	}
	return out
}

// Features returns the number of features of the model.
func (m *Model) Features() int { return len(m.w) / NumTags }
