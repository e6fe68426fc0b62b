package ner

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"sync"
)

// Tags of the sequence model (BIO).
const (
	TagO = iota
	TagBPer
	TagIPer
	TagBLoc
	TagILoc
	NumTags
)

// TagNames are the tags in order.
var TagNames = [NumTags]string{"O", "B-PER", "I-PER", "B-LOC", "I-LOC"}

// Model is a linear sequence model: per-feature tag weights, tag transition
// weights, first-order Viterbi decoding. Safe for concurrent use.
type Model struct {
	vocab map[uint64]int32
	// open-addressing feature table
	keys  []uint64
	vals  []int32 // index into w (NumTags per feature), -1 empty
	w     []float32
	trans [NumTags + 1][NumTags]float32 // [prev (NumTags = start)][tag]
	mask  uint64
	// the decoder's table: key and int16 weights side by side (one cache
	// line per feature lookup), weights times scale
	tab     []entry
	tabMask uint64
	scale   float32
}

type entry struct {
	key uint64
	w   [NumTags]int16
}

// compile builds the decoder's table from the float weights.
func (m *Model) compile() {
	var maxAbs float32
	for _, v := range m.w {
		maxAbs = max(maxAbs, float32(math.Abs(float64(v))))
	}
	m.scale = maxAbs / 32767
	if m.scale == 0 {
		m.scale = 1
	}
	size := 1
	for size < 2*m.Features()+2 {
		size <<= 1
	}
	m.tab = make([]entry, size)
	m.tabMask = uint64(size - 1)
	for i, k := range m.keys {
		if k == 0 {
			continue
		}
		var e entry
		e.key = k
		for t := 0; t < NumTags; t++ {
			e.w[t] = int16(math.Round(float64(m.w[int(m.vals[i])+t] / m.scale)))
		}
		j := k & m.tabMask
		for m.tab[j].key != 0 {
			j = (j + 1) & m.tabMask
		}
		m.tab[j] = e
	}
}

// weights returns the table entry of feature f, or nil.
func (m *Model) weights(f uint64) *entry {
	i := f & m.tabMask
	for {
		e := &m.tab[i]
		if e.key == f {
			return e
		}
		if e.key == 0 {
			return nil
		}
		i = (i + 1) & m.tabMask
	}
}

// allowed reports whether tag b may follow tag a (BIO constraints).
func allowed(a, b int) bool {
	switch b {
	case TagIPer:
		return a == TagBPer || a == TagIPer
	case TagILoc:
		return a == TagBLoc || a == TagILoc
	}
	return true
}

func (m *Model) lookup(f uint64) int32 {
	i := f & m.mask
	for {
		k := m.keys[i]
		if k == f {
			return m.vals[i]
		}
		if k == 0 {
			return -1
		}
		i = (i + 1) & m.mask
	}
}

// SetVocab marks the tokens whose word is in the model's vocabulary.
func (m *Model) SetVocab(ts []Token) {
	for i := range ts {
		if ts[i].Kind == KWord {
			if v, ok := m.vocab[ts[i].Key]; ok {
				ts[i].Vocab = v
			} else {
				ts[i].Vocab = -1
			}
		}
	}
}

// Scratch holds per-call buffers of Decode.
type Scratch struct {
	fs    []uint64
	ends  []int32 // ends[i]: end of token i's features in fs
	score [][NumTags]float32
	back  [][NumTags]uint8
}

// Decode tags ts (tokens from Tokenize) and writes one tag per token to tags.
//
// It hashes the features of every token first and looks them up after: the
// table (a few MB) does not fit the core's cache, and a loop of nothing but
// independent lookups lets the processor have many of them in flight. The
// emission sums are integers, so their order cannot change a tag.
func (m *Model) Decode(ts []Token, tags []uint8, s *Scratch) {
	n := len(ts)
	if n == 0 {
		return
	}
	m.SetVocab(ts)
	if cap(s.score) < n {
		s.score = make([][NumTags]float32, n)
		s.back = make([][NumTags]uint8, n)
	}
	if cap(s.ends) < n { // the trainer grows score and back alone
		s.ends = make([]int32, n)
	}
	score, back, ends := s.score[:n], s.back[:n], s.ends[:n]
	fs := s.fs[:0]
	for i := range ts {
		fs = Features(ts, i, fs)
		ends[i] = int32(len(fs))
	}
	s.fs = fs
	tab, mask := m.tab, m.tabMask
	from := int32(0)
	for i := 0; i < n; i++ {
		var acc [NumTags]int32
		for _, f := range fs[from:ends[i]] {
			for j := f & mask; ; j = (j + 1) & mask {
				e := &tab[j]
				if e.key == f {
					acc[0] += int32(e.w[0])
					acc[1] += int32(e.w[1])
					acc[2] += int32(e.w[2])
					acc[3] += int32(e.w[3])
					acc[4] += int32(e.w[4])
					break
				}
				if e.key == 0 {
					break
				}
			}
		}
		from = ends[i]
		var em [NumTags]float32
		for t := range em {
			em[t] = float32(acc[t]) * m.scale
		}
		viterbiStep(m, score, back, i, em)
	}
	backtrack(score, back, tags)
}

func viterbiStep(m *Model, score [][NumTags]float32, back [][NumTags]uint8, i int, em [NumTags]float32) {
	for t := 0; t < NumTags; t++ {
		if i == 0 {
			if !allowed(TagO, t) {
				score[0][t] = float32(math.Inf(-1))
			} else {
				score[0][t] = em[t] + m.trans[NumTags][t]
			}
			continue
		}
		best, arg := float32(math.Inf(-1)), 0
		for p := 0; p < NumTags; p++ {
			if !allowed(p, t) {
				continue
			}
			if v := score[i-1][p] + m.trans[p][t]; v > best {
				best, arg = v, p
			}
		}
		score[i][t] = best + em[t]
		back[i][t] = uint8(arg)
	}
}

func backtrack(score [][NumTags]float32, back [][NumTags]uint8, tags []uint8) {
	n := len(score)
	best, arg := float32(math.Inf(-1)), 0
	for t := 0; t < NumTags; t++ {
		if score[n-1][t] > best {
			best, arg = score[n-1][t], t
		}
	}
	for i := n - 1; i >= 0; i-- {
		tags[i] = uint8(arg)
		arg = int(back[i][arg])
	}
}

// ------------------------------------------------------------ file format

const magic = "cfner1\n"

// Encode writes the model (weights quantised to int16) gzip-compressed.
func (m *Model) Encode(w io.Writer) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(zw)
	var maxAbs float32
	for _, v := range m.w {
		maxAbs = max(maxAbs, float32(math.Abs(float64(v))))
	}
	for _, row := range m.trans {
		for _, v := range row {
			maxAbs = max(maxAbs, float32(math.Abs(float64(v))))
		}
	}
	scale := maxAbs / 32767
	if scale == 0 {
		scale = 1
	}
	put := func(v any) { _ = binary.Write(bw, binary.LittleEndian, v) }
	q := func(v float32) int16 { return int16(math.Round(float64(v / scale))) }
	bw.WriteString(magic)
	put(scale)
	put(uint32(len(m.vocab)))
	vs := make([]uint64, len(m.vocab))
	for k, i := range m.vocab {
		vs[i] = k
	}
	put(vs)
	for _, row := range m.trans {
		for _, v := range row {
			put(q(v))
		}
	}
	// features sorted by key for a stable file
	type fe struct {
		k uint64
		i int32
	}
	var fsl []fe
	for i, k := range m.keys {
		if k != 0 {
			fsl = append(fsl, fe{k, m.vals[i]})
		}
	}
	sort.Slice(fsl, func(a, b int) bool { return fsl[a].k < fsl[b].k })
	put(uint32(len(fsl)))
	for _, f := range fsl {
		put(f.k)
	}
	for _, f := range fsl {
		for t := 0; t < NumTags; t++ {
			put(q(m.w[int(f.i)+t]))
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return zw.Close()
}

// DecodeModel reads a model written by Encode.
func DecodeModel(r io.Reader) (*Model, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(b, []byte(magic)) {
		return nil, errors.New("ner: not a model file")
	}
	rd := bytes.NewReader(b[len(magic):])
	get := func(v any) error { return binary.Read(rd, binary.LittleEndian, v) }
	var scale float32
	var nv uint32
	if err := errors.Join(get(&scale), get(&nv)); err != nil {
		return nil, err
	}
	if nv > 1<<22 {
		return nil, fmt.Errorf("ner: vocabulary of %d words", nv)
	}
	vs := make([]uint64, nv)
	if err := get(vs); err != nil {
		return nil, err
	}
	m := &Model{vocab: make(map[uint64]int32, nv)}
	for i, k := range vs {
		m.vocab[k] = int32(i)
	}
	var tr [(NumTags + 1) * NumTags]int16
	if err := get(&tr); err != nil {
		return nil, err
	}
	for p := 0; p <= NumTags; p++ {
		for t := 0; t < NumTags; t++ {
			m.trans[p][t] = float32(tr[p*NumTags+t]) * scale
		}
	}
	var nf uint32
	if err := get(&nf); err != nil {
		return nil, err
	}
	if nf > 1<<24 {
		return nil, fmt.Errorf("ner: %d features", nf)
	}
	keys := make([]uint64, nf)
	ws := make([]int16, int(nf)*NumTags)
	if err := errors.Join(get(keys), get(ws)); err != nil {
		return nil, err
	}
	m.alloc(int(nf))
	for i, k := range keys {
		idx := m.insert(k)
		for t := 0; t < NumTags; t++ {
			m.w[int(idx)+t] = float32(ws[i*NumTags+t]) * scale
		}
	}
	m.compile()
	return m, nil
}

func (m *Model) alloc(n int) {
	size := 1
	for size < 2*n+2 {
		size <<= 1
	}
	m.keys = make([]uint64, size)
	m.vals = make([]int32, size)
	m.mask = uint64(size - 1)
	m.w = make([]float32, 0, n*NumTags)
}

// insert adds feature k (k != 0) and returns its weight index.
func (m *Model) insert(k uint64) int32 {
	i := k & m.mask
	for m.keys[i] != 0 {
		if m.keys[i] == k {
			return m.vals[i]
		}
		i = (i + 1) & m.mask
	}
	m.keys[i] = k
	idx := int32(len(m.w))
	m.vals[i] = idx
	m.w = append(m.w, make([]float32, NumTags)...)
	return idx
}

//go:embed data/model.bin.gz
var modelFile []byte

var defaultModel struct {
	once sync.Once
	m    *Model
	err  error
}

// Default returns the embedded model (decoded on first use).
func Default() (*Model, error) {
	defaultModel.once.Do(func() {
		if len(modelFile) == 0 {
			defaultModel.err = errors.New("ner: no embedded model")
			return
		}
		defaultModel.m, defaultModel.err = DecodeModel(bytes.NewReader(modelFile))
	})
	return defaultModel.m, defaultModel.err
}
