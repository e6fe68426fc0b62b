package ner

// Feature templates. Every feature is a 64-bit hash of its template and
// values; a token has at most MaxFeats of them.
const (
	tBias uint64 = iota + 1
	tID
	tShape
	tSuf2
	tSuf3
	tPre3
	tFlag
	tFlagSet
	tPos
	tIDm1
	tIDp1
	tIDm2
	tIDp2
	tFlagsM1
	tFlagsP1
	tShM1Sh0
	tSh0ShP1
	tShTri
	tIDm1Sh0
	tLenSh
	tLineEnd
	tIDp1Sh0
	tFlagsM2
	tFlagsP2
	tBigram
	tConj
	tConjM1
	tConjP1
	tCtxL
	tCtxR
	tSufM1
)

// MaxFeats bounds the features of one token.
const MaxFeats = 48

// neighbour flags that matter as context
const ctxMask = FGiven | FSurname | FPlace | FTitle | FStreet | FUnit | FRegion | FOrg | FMonth | FCommon | FParticle | FPersonCtx | FLocCtx | FFunc | FDict | FProduct | FGreet | FChat

// nameMask are the flags a feature dropout hides (to learn from context).
const nameMask = FGiven | FSurname | FPlace | FPlacePre

const unk = 0xfeedface

// ident is a token's identity for features: the word itself when it is in
// the vocabulary, its shape class otherwise.
func ident(t *Token) uint64 {
	if t.Vocab >= 0 || t.Kind == KPunct {
		return t.Key
	}
	return unk + uint64(t.Shape)
}

func lenBucket(t *Token) uint64 {
	switch n := t.E - t.S; {
	case n <= 2:
		return 1
	case n <= 4:
		return 2
	case n <= 7:
		return 3
	case n <= 10:
		return 4
	}
	return 5
}

// sentStart reports whether token i starts a sentence or a line.
func sentStart(ts []Token, i int) bool {
	if i == 0 || ts[i].NL {
		return true
	}
	p := ts[i-1]
	return p.Shape == ShDot || p.Shape == ShSentEnd || p.Shape == ShQuote || p.Shape == ShColon || (p.Shape == ShHyphen && p.Space)
}

var boundary = Token{Kind: KPunct, Shape: NumShapes, Key: 0xb0b0, Vocab: -1}

// around is what Features and ctxFeatures read of token i's place: the token,
// its neighbours (the boundary beyond the text), its shape and identity, its
// position bits (sentence start 1, after a line break 2, after a colon 4,
// glued to a preceding @ 8) and whether it ends its line.
func around(ts []Token, i int) (t, m1, p1, m2, p2 *Token, sh, id, pos, lineEnd uint64) {
	get := func(j int) *Token {
		if j < 0 || j >= len(ts) {
			return &boundary
		}
		return &ts[j]
	}
	t = &ts[i]
	m1, p1, m2, p2 = get(i-1), get(i+1), get(i-2), get(i+2)
	sh = uint64(t.Shape)
	id = ident(t)
	if sentStart(ts, i) {
		pos = 1
	}
	if t.NL {
		pos |= 2
	}
	if m1.Shape == ShColon {
		pos |= 4
	}
	if m1.Shape == ShAt && !t.Space {
		pos |= 8
	}
	if i+1 >= len(ts) || p1.NL {
		lineEnd = 1
	}
	return
}

// Features appends the features of token i to fs.
func Features(ts []Token, i int, fs []uint64) []uint64 {
	t, m1, p1, m2, p2, sh, id, pos, lineEnd := around(ts, i)
	fs = append(fs,
		mix(tBias, 0),
		mix(tID, id),
		mix(tShape, sh),
		mix(tPos, pos<<8|sh),
		mix(tIDm1, ident(m1)),
		mix(tIDp1, ident(p1)),
		mix(tIDm2, ident(m2)),
		mix(tIDp2, ident(p2)),
		mix(tFlagsM1, uint64(m1.Flags&ctxMask)),
		mix(tFlagsP1, uint64(p1.Flags&ctxMask)),
		mix(tFlagsM2, uint64(m2.Flags&ctxMask)),
		mix(tFlagsP2, uint64(p2.Flags&ctxMask)),
		mix(tShM1Sh0, uint64(m1.Shape)<<8|sh),
		mix(tSh0ShP1, sh<<8|uint64(p1.Shape)),
		mix(tShTri, uint64(m1.Shape)<<16|sh<<8|uint64(p1.Shape)),
		mix(tIDm1Sh0, mix(ident(m1), sh)),
		mix(tIDp1Sh0, mix(ident(p1), sh)),
		mix(tLenSh, lenBucket(t)<<8|sh),
		mix(tLineEnd, lineEnd<<8|sh|pos<<16),
		mix(tFlagSet, uint64(t.Flags&ctxMask)<<8|sh),
		mix(tBigram, mix(ident(m1), id)),
		mix(tConj, uint64(t.Flags&(FGiven|FSurname|FPlace|FDict|FCommon|FProduct|FChat|FGreet))<<16|sh<<8|pos),
		mix(tConjM1, uint64(m1.Flags&(FGiven|FSurname|FPlace|FDict|FCommon|FFunc))<<16|uint64(m1.Shape)<<8|sh),
		mix(tConjP1, uint64(p1.Flags&(FGiven|FSurname|FPlace|FDict|FCommon|FFunc|FStreet|FOrg))<<16|uint64(p1.Shape)<<8|sh),
	)
	// two words of context on each side as one feature ("relocating to",
	// "owe … a"), and the ending of an unknown word before ("-ing", "-ed"),
	// so an unknown capitalised word is read from what surrounds it.
	fs = append(fs, mix(tCtxL, mix(mix(ident(m2), ident(m1)), sh)), mix(tCtxR, mix(ident(p1), ident(p2))))
	if m1.Kind == KWord && m1.Vocab < 0 {
		fs = append(fs, mix(tSufM1, m1.Suf3))
	}
	if t.Kind == KWord {
		fs = append(fs, mix(tSuf2, t.Suf2), mix(tSuf3, t.Suf3), mix(tPre3, t.Pre3))
	}
	for b := uint32(1); b != 0 && b <= lastFlag; b <<= 1 {
		if t.Flags&b != 0 {
			fs = append(fs, mix(tFlag, uint64(b)<<8|sh))
		}
	}
	return fs
}

// The decoder splits Features (the trainer does not: its float sums follow
// Features' order). Most features look at one token only: the token itself
// (its identity, shape, length, affixes and flags), or one neighbour's
// identity or context flags at a given distance ("the word before is
// 'in'"). Their weights are the same wherever that token occurs, so the
// decoder keeps their sums per token (ownKey: everything they read) and
// reuses them: ownFeatures lists them by group (a token's own, and what it
// gives the token 1 or 2 after or before it), ctxFeatures lists the rest.
// Together they are Features' features, in another order
// (TestSplitFeaturesAreFeatures).

// ownKey is everything ownFeatures reads of a token.
type ownKey struct {
	id, suf2, suf3, pre3 uint64
	flags                uint32
	shape, lenb          uint8
	word                 bool
}

func ownKeyOf(t *Token) ownKey {
	k := ownKey{id: ident(t), flags: t.Flags, shape: t.Shape, lenb: uint8(lenBucket(t)), word: t.Kind == KWord}
	if k.word {
		k.suf2, k.suf3, k.pre3 = t.Suf2, t.Suf3, t.Pre3
	}
	return k
}

// Groups of ownFeatures: the token's own features, and those it gives as
// the token before (m1), after (p1), two before (m2) or two after (p2)
// another.
const (
	gSelf = iota
	gAsM1
	gAsP1
	gAsM2
	gAsP2
	numGroups
)

// ownFeatures appends the features of group g of a token with key k.
func ownFeatures(k *ownKey, g int, fs []uint64) []uint64 {
	switch g {
	case gAsM1:
		return append(fs, mix(tIDm1, k.id), mix(tFlagsM1, uint64(k.flags&ctxMask)))
	case gAsP1:
		return append(fs, mix(tIDp1, k.id), mix(tFlagsP1, uint64(k.flags&ctxMask)))
	case gAsM2:
		return append(fs, mix(tIDm2, k.id), mix(tFlagsM2, uint64(k.flags&ctxMask)))
	case gAsP2:
		return append(fs, mix(tIDp2, k.id), mix(tFlagsP2, uint64(k.flags&ctxMask)))
	}
	sh := uint64(k.shape)
	fs = append(fs,
		mix(tBias, 0),
		mix(tID, k.id),
		mix(tShape, sh),
		mix(tLenSh, uint64(k.lenb)<<8|sh),
		mix(tFlagSet, uint64(k.flags&ctxMask)<<8|sh),
	)
	if k.word {
		fs = append(fs, mix(tSuf2, k.suf2), mix(tSuf3, k.suf3), mix(tPre3, k.pre3))
	}
	for b := uint32(1); b != 0 && b <= lastFlag; b <<= 1 {
		if k.flags&b != 0 {
			fs = append(fs, mix(tFlag, uint64(b)<<8|sh))
		}
	}
	return fs
}

// ctxFeatures appends the features of Features that ownFeatures does not
// give token i: the ones that combine tokens, and the neighbour features of
// a neighbour beyond the text (the boundary).
func ctxFeatures(ts []Token, i int, fs []uint64) []uint64 {
	t, m1, p1, m2, p2, sh, id, pos, lineEnd := around(ts, i)
	idm1, idp1 := ident(m1), ident(p1)
	fs = append(fs,
		mix(tPos, pos<<8|sh),
		mix(tShM1Sh0, uint64(m1.Shape)<<8|sh),
		mix(tSh0ShP1, sh<<8|uint64(p1.Shape)),
		mix(tShTri, uint64(m1.Shape)<<16|sh<<8|uint64(p1.Shape)),
		mix(tIDm1Sh0, mix(idm1, sh)),
		mix(tIDp1Sh0, mix(idp1, sh)),
		mix(tLineEnd, lineEnd<<8|sh|pos<<16),
		mix(tBigram, mix(idm1, id)),
		mix(tConj, uint64(t.Flags&(FGiven|FSurname|FPlace|FDict|FCommon|FProduct|FChat|FGreet))<<16|sh<<8|pos),
		mix(tConjM1, uint64(m1.Flags&(FGiven|FSurname|FPlace|FDict|FCommon|FFunc))<<16|uint64(m1.Shape)<<8|sh),
		mix(tConjP1, uint64(p1.Flags&(FGiven|FSurname|FPlace|FDict|FCommon|FFunc|FStreet|FOrg))<<16|uint64(p1.Shape)<<8|sh),
		mix(tCtxL, mix(mix(ident(m2), idm1), sh)),
		mix(tCtxR, mix(idp1, ident(p2))),
	)
	if m1.Kind == KWord && m1.Vocab < 0 {
		fs = append(fs, mix(tSufM1, m1.Suf3))
	}
	if i-1 < 0 {
		fs = append(fs, mix(tIDm1, idm1), mix(tFlagsM1, uint64(m1.Flags&ctxMask)))
	}
	if i+1 >= len(ts) {
		fs = append(fs, mix(tIDp1, idp1), mix(tFlagsP1, uint64(p1.Flags&ctxMask)))
	}
	if i-2 < 0 {
		fs = append(fs, mix(tIDm2, ident(m2)), mix(tFlagsM2, uint64(m2.Flags&ctxMask)))
	}
	if i+2 >= len(ts) {
		fs = append(fs, mix(tIDp2, ident(p2)), mix(tFlagsP2, uint64(p2.Flags&ctxMask)))
	}
	return fs
}
