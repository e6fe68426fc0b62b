package stream

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
)

// ErrPanicked marks a record whose processing panicked: a bug of a decoder, a
// redactor or a field rule that some input reaches. Such a record is poison
// (Permanent): dead-lettered with reason "panic", never retried, because a
// crash of the process would be repeated on the same record after every
// restart and stop the stage.
var ErrPanicked = errors.New("panicked")

// Recovered returns the error for a panic value that recover returned; call it
// in the deferred function that recovers. The error wraps ErrPanicked and
// holds the runtime's message (an index, a length) and the function that
// panicked with its file and line, never the record's content: a panic value
// that is not a runtime error is named only by its type, as it could hold
// anything.
func Recovered(p any) error {
	what := fmt.Sprintf("panic value of type %T", p)
	if re, ok := p.(runtime.Error); ok {
		what = re.Error()
	}
	return fmt.Errorf("%w: %s at %s", ErrPanicked, what, panicSite())
}

// panicSite names the function that panicked: the first frame below
// runtime.gopanic (the deferred recovery runs on top of it) outside the
// runtime.
func panicSite() string {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	below := false
	for {
		f, more := frames.Next()
		switch {
		case f.Function == "runtime.gopanic":
			below = true
		case below && !strings.HasPrefix(f.Function, "runtime."):
			file := f.File
			if i := strings.LastIndex(file, "/"); i >= 0 {
				file = file[i+1:]
			}
			return fmt.Sprintf("%s (%s:%d)", f.Function, file, f.Line)
		}
		if !more {
			return "an unknown site"
		}
	}
}
