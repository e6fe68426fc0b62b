package table

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/require"
)

// page is a Parquet-page-sized block of column values that compresses well.
func page() []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < 256<<10; i++ {
		fmt.Fprintf(&b, "event-%08d|page_view|tenant-%d|en-US|", i, i%7)
	}
	return b.Bytes()
}

// TestZstdPagesUseASmallHistory: compressing a page after a garbage
// collection allocates about the page, not a new encoder with a 16 MiB
// history (arrow-go's pooled encoders have zstd's 8 MiB window and the pool is
// emptied by every GC); the output is zstd that any decoder reads back.
func TestZstdPagesUseASmallHistory(t *testing.T) {
	codec, err := compress.GetCodec(compress.Codecs.Zstd)
	require.NoError(t, err)
	src := page()
	dst := make([]byte, 0, codec.CompressBound(int64(len(src))))
	for _, level := range []int{compress.DefaultCompressionLevel, 3, 1} {
		codec.EncodeLevel(dst, src, level) // warm
		const rounds = 5
		var before, after runtime.MemStats
		var alloc uint64
		for range rounds {
			runtime.GC()
			runtime.ReadMemStats(&before)
			out := codec.EncodeLevel(dst, src, level)
			runtime.ReadMemStats(&after)
			alloc += after.TotalAlloc - before.TotalAlloc
			require.Less(t, len(out), len(src)/4, "compressed")
			dec, err := zstd.NewReader(nil)
			require.NoError(t, err)
			back, err := dec.DecodeAll(out, nil)
			dec.Close()
			require.NoError(t, err)
			require.Equal(t, src, back)
		}
		per := alloc / rounds
		t.Logf("level %d: %d bytes allocated per page after a GC", level, per)
		require.Less(t, per, uint64(4<<20), "level %d: compressing a page after a GC allocates a large encoder", level)
	}
	// Decoding is arrow-go's own.
	out := codec.EncodeLevel(nil, src, 3)
	require.Equal(t, src, codec.Decode(nil, out))
}
