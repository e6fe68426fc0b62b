package redact

// Candidates are ordered by integer keys with an LSD radix sort, so that
// ordering costs time linear in their number (a comparison sort's log factor
// shows on hostile input with tens of thousands of candidates).

const maxRadixOffset = 1 << 28 // offsets must fit the keys' fields

// sortCands sorts cs by key(c) ascending (stable).
func (s *scratch) sortCands(cs []cand, key func(c *cand) uint64) {
	if len(cs) < 64 {
		// a stable insertion sort on keys computed once (a comparison
		// function calling key on its arguments' addresses would move both
		// to the heap on every comparison)
		n := len(cs)
		if cap(s.keys) < n {
			s.keys = make([]uint64, n, 2*n)
		}
		keys := s.keys[:n]
		for i := range cs {
			keys[i] = key(&cs[i])
		}
		for i := 1; i < n; i++ {
			k, c := keys[i], cs[i]
			j := i
			for ; j > 0 && keys[j-1] > k; j-- {
				keys[j], cs[j] = keys[j-1], cs[j-1]
			}
			keys[j], cs[j] = k, c
		}
		return
	}
	n := len(cs)
	if cap(s.keys) < 2*n {
		s.keys = make([]uint64, 2*n)
		s.idx = make([]int32, 2*n)
	}
	ka, kb := s.keys[:n], s.keys[n:2*n]
	ia, ib := s.idx[:n], s.idx[n:2*n]
	var or uint64
	for i := range cs {
		ka[i] = key(&cs[i])
		ia[i] = int32(i)
		or |= ka[i]
	}
	var count [257]int
	for shift := uint(0); shift < 64 && or>>shift != 0; shift += 8 {
		clear(count[:])
		for _, k := range ka {
			count[(k>>shift)&0xff+1]++
		}
		for b := 1; b < 257; b++ {
			count[b] += count[b-1]
		}
		for i, k := range ka {
			d := (k >> shift) & 0xff
			kb[count[d]] = k
			ib[count[d]] = ia[i]
			count[d]++
		}
		ka, kb = kb, ka
		ia, ib = ib, ia
	}
	if cap(s.tmp) < n {
		s.tmp = make([]cand, n)
	}
	tmp := s.tmp[:n]
	for i, j := range ia {
		tmp[i] = cs[j]
	}
	copy(cs, tmp)
}

// byStart orders by start offset.
func byStart(c *cand) uint64 { return uint64(c.start) }

// byPriority orders by priority (high first), length (long first), start.
func byPriority(c *cand) uint64 {
	return uint64(255-min(c.prio, 255))<<56 | uint64(maxRadixOffset-1-(c.end-c.start))<<28 | uint64(c.start)
}
