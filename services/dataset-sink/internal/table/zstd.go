package table

import (
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// The Parquet files' zstd compression, with encoders sized for Parquet pages.
//
// arrow-go compresses each page with a zstd encoder from a sync.Pool created
// with zstd's default 8 MiB window: each encoder's history buffer is 16 MiB
// (window + 8 MiB), although a page is at most 1 MiB, and the pool is emptied
// at every garbage collection, so the sink made a new 16 MiB encoder for the
// next file after nearly every GC (131 MB of encoders allocated in one
// fixed-rate e2e minute; 16 MiB live of a 35 MiB heap at the sink's peak RSS).
// A 1 MiB window covers any page (matches never reach across pages: each is
// compressed on its own), so the output is the same zstd with a history a
// tenth the size; the encoders are kept in a small free list that GC does not
// empty. Decoding stays arrow-go's.
const zstdWindow = 1 << 20

// zstdEncoders is how many idle encoders are kept (a sink writes one file at a
// time per commit; the erasure applier and compaction may write alongside).
const zstdEncoders = 4

type zstdCodec struct {
	compress.Codec // arrow-go's, for decoding and streams
	free           map[zstd.EncoderLevel]chan *zstd.Encoder
}

func init() {
	def, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		panic(err)
	}
	c := &zstdCodec{Codec: def, free: map[zstd.EncoderLevel]chan *zstd.Encoder{}}
	for l := zstd.SpeedFastest; l <= zstd.SpeedBestCompression; l++ {
		c.free[l] = make(chan *zstd.Encoder, zstdEncoders)
	}
	compress.RegisterCodec(compress.Codecs.Zstd, c)
}

func (c *zstdCodec) encoder(level zstd.EncoderLevel) *zstd.Encoder {
	select {
	case e := <-c.free[level]:
		return e
	default:
	}
	e, err := zstd.NewWriter(nil, zstd.WithZeroFrames(true), zstd.WithEncoderLevel(level),
		zstd.WithEncoderConcurrency(1), zstd.WithAllLitEntropyCompression(true), zstd.WithWindowSize(zstdWindow))
	if err != nil {
		panic(err) // only for invalid options, which these are not
	}
	return e
}

func (c *zstdCodec) release(level zstd.EncoderLevel, e *zstd.Encoder) {
	select {
	case c.free[level] <- e:
	default:
	}
}

func levelOf(level int) zstd.EncoderLevel {
	if level == compress.DefaultCompressionLevel {
		return zstd.SpeedDefault
	}
	return zstd.EncoderLevelFromZstd(level)
}

// Encode compresses one page at the default level.
func (c *zstdCodec) Encode(dst, src []byte) []byte {
	return c.EncodeLevel(dst, src, compress.DefaultCompressionLevel)
}

// EncodeLevel compresses one page at level.
func (c *zstdCodec) EncodeLevel(dst, src []byte, level int) []byte {
	l := levelOf(level)
	e := c.encoder(l)
	defer c.release(l, e)
	return e.EncodeAll(src, dst[:0])
}
