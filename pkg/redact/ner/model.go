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
	// the decoder's vocabulary: an open-addressed copy of vocab (the map
	// stays the trainer's); a slot of vkeys 0 is empty, and a word whose
	// hash is 0 has its index in vzero
	vkeys []uint64
	vidx  []int32
	vmask uint64
	vzero int32
	// vtrans is trans with the BIO constraints folded in: -Inf where
	// allowed(p, t) is false, so the decoder's Viterbi step has no branches
	// but the maximum's
	vtrans [NumTags + 1][NumTags]float32
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
	m.compileVocab()
	for p := 0; p <= NumTags; p++ {
		for t := 0; t < NumTags; t++ {
			prev := p
			if p == NumTags {
				prev = TagO // the start: as after an O
			}
			m.vtrans[p][t] = m.trans[p][t]
			if !allowed(prev, t) {
				m.vtrans[p][t] = float32(math.Inf(-1))
			}
		}
	}
}

// compileVocab builds the decoder's vocabulary table from vocab.
func (m *Model) compileVocab() {
	size := 1
	for size < 2*len(m.vocab)+2 {
		size <<= 1
	}
	m.vkeys = make([]uint64, size)
	m.vidx = make([]int32, size)
	m.vmask = uint64(size - 1)
	m.vzero = -1
	for k, v := range m.vocab {
		if k == 0 {
			m.vzero = v
			continue
		}
		j := k & m.vmask
		for m.vkeys[j] != 0 {
			j = (j + 1) & m.vmask
		}
		m.vkeys[j], m.vidx[j] = k, v
	}
}

// vocabIndex is vocab[k] from the decoder's table, -1 when k is no word of
// the vocabulary.
func (m *Model) vocabIndex(k uint64) int32 {
	if k == 0 {
		return m.vzero
	}
	for j := k & m.vmask; ; j = (j + 1) & m.vmask {
		switch m.vkeys[j] {
		case k:
			return m.vidx[j]
		case 0:
			return -1
		}
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
	// sums of tokens' own features (see ownFeatures): kept across calls
	// for the model ownOf, filled in for this call's tokens in own
	cache *[ownCacheSize]ownEntry
	ownOf *Model
	own   []ownSums
	miss  []ownMiss // tokens whose sums are not in the cache
	ofs   []uint64  // their own features
}

// ownSums are the weight sums of a token's groups of own features.
type ownSums [numGroups][NumTags]int32

type ownEntry struct {
	k    ownKey
	sums ownSums
	set  bool
}

// ownCacheSize is the number of tokens' sums a Scratch keeps (direct-mapped;
// 144 bytes each).
const ownCacheSize = 2048

type ownMiss struct {
	i    int32            // token
	ends [numGroups]int32 // ends of its groups' features in ofs
	at   uint32
}

func (k *ownKey) slot() uint32 {
	return uint32(mix(k.id^k.suf3, k.pre3^uint64(k.flags)<<8^uint64(k.shape)<<40^uint64(k.lenb)<<48)) & (ownCacheSize - 1)
}

func add(acc, v *[NumTags]int32) {
	acc[0] += v[0]
	acc[1] += v[1]
	acc[2] += v[2]
	acc[3] += v[3]
	acc[4] += v[4]
}

// sum adds the weights of features fs to acc.
func (m *Model) sum(fs []uint64, acc *[NumTags]int32) {
	tab, mask := m.tab, m.tabMask
	for _, f := range fs {
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
}

// Decode tags ts (tokens from Tokenize) and writes one tag per token to tags.
//
// A token's emission score is the sum of its features' weights: those of
// one token alone, itself or a neighbour (ownFeatures), and the rest
// (ctxFeatures). The first sums are kept per token in the Scratch (ownKey:
// all those features read), since most tokens of a text are words seen
// before, and the table (a few MB) does not fit the core's cache. All
// features are hashed first and looked up after: a loop of nothing but
// independent lookups lets the processor have many of them in flight. The
// emission sums are integers, so their order cannot change a tag.
func (m *Model) Decode(ts []Token, tags []uint8, s *Scratch) {
	n := len(ts)
	if n == 0 {
		return
	}
	for i := range ts {
		if ts[i].Kind == KWord {
			ts[i].Vocab = m.vocabIndex(ts[i].Key)
		}
	}
	if cap(s.score) < n {
		s.score = make([][NumTags]float32, n)
		s.back = make([][NumTags]uint8, n)
	}
	if cap(s.ends) < n { // the trainer grows score and back alone
		s.ends = make([]int32, n)
	}
	if cap(s.own) < n {
		s.own = make([]ownSums, n)
	}
	if s.cache == nil || s.ownOf != m {
		s.cache, s.ownOf = new([ownCacheSize]ownEntry), m
	}
	score, back, ends, own, cache := s.score[:n], s.back[:n], s.ends[:n], s.own[:n], s.cache
	fs, ofs, miss := s.fs[:0], s.ofs[:0], s.miss[:0]
	for i := range ts {
		k := ownKeyOf(&ts[i])
		at := k.slot()
		if e := &cache[at]; e.set && e.k == k {
			own[i] = e.sums
		} else {
			x := ownMiss{i: int32(i), at: at}
			for g := range numGroups {
				ofs = ownFeatures(&k, g, ofs)
				x.ends[g] = int32(len(ofs))
			}
			miss = append(miss, x)
		}
		fs = ctxFeatures(ts, i, fs)
		ends[i] = int32(len(fs))
	}
	s.fs, s.ofs, s.miss = fs, ofs, miss
	from := int32(0)
	for _, x := range miss {
		var sums ownSums
		for g, end := range x.ends {
			m.sum(ofs[from:end], &sums[g])
			from = end
		}
		own[x.i] = sums
		cache[x.at] = ownEntry{k: ownKeyOf(&ts[x.i]), sums: sums, set: true}
	}
	from = 0
	for i := 0; i < n; i++ {
		acc := own[i][gSelf]
		if i >= 1 {
			add(&acc, &own[i-1][gAsM1])
		}
		if i+1 < n {
			add(&acc, &own[i+1][gAsP1])
		}
		if i >= 2 {
			add(&acc, &own[i-2][gAsM2])
		}
		if i+2 < n {
			add(&acc, &own[i+2][gAsP2])
		}
		m.sum(fs[from:ends[i]], &acc)
		from = ends[i]
		var em [NumTags]float32
		for t := range em {
			em[t] = float32(acc[t]) * m.scale
		}
		m.step(score, back, i, em)
	}
	backtrack(score, back, tags)
}

// step is viterbiStep with the constraints in vtrans: a move that is not
// allowed scores -Inf and never wins the strict maximum, so the scores and
// back pointers are those of viterbiStep. O, B-PER and B-LOC may follow any
// tag; I-PER only B-PER or I-PER, I-LOC only B-LOC or I-LOC, so their other
// predecessors are not tried: prev[p] + (-Inf) is -Inf (or NaN), which is
// never greater than the best so far, and the best starts from p = 0 as in
// the full loop, whatever that gives.
func (m *Model) step(score [][NumTags]float32, back [][NumTags]uint8, i int, em [NumTags]float32) {
	if i == 0 {
		for t := 0; t < NumTags; t++ {
			score[0][t] = em[t] + m.vtrans[NumTags][t]
		}
		return
	}
	prev, cur, bk := &score[i-1], &score[i], &back[i]
	for _, t := range [...]int{TagO, TagBPer, TagBLoc} {
		best, arg := prev[0]+m.vtrans[0][t], 0
		for p := 1; p < NumTags; p++ {
			if v := prev[p] + m.vtrans[p][t]; v > best {
				best, arg = v, p
			}
		}
		cur[t] = best + em[t]
		bk[t] = uint8(arg)
	}
	m.inside(prev, cur, bk, TagBPer, TagIPer, em[TagIPer])
	m.inside(prev, cur, bk, TagBLoc, TagILoc, em[TagILoc])
}

// inside is step's maximum for an inside tag in, whose only allowed
// predecessors are its begin tag b and itself (b < in).
func (m *Model) inside(prev, cur *[NumTags]float32, bk *[NumTags]uint8, b, in int, em float32) {
	best, arg := prev[0]+m.vtrans[0][in], 0
	if v := prev[b] + m.vtrans[b][in]; v > best {
		best, arg = v, b
	}
	if v := prev[in] + m.vtrans[in][in]; v > best {
		best, arg = v, in
	}
	cur[in] = best + em
	bk[in] = uint8(arg)
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
