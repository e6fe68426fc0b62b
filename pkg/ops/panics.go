package ops

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"

	"go.uber.org/zap"
)

// recoverPanics turns a handler's panic into an answer instead of a dropped
// connection: before anything was written the client gets 500 {"error":
// "internal", "code": "internal", "message": …} and the process logs the
// panic with its stack; after the response began it is cut off (the only
// honest signal left once a status went out). The server goes on serving
// either way. http.ErrAbortHandler, the sanctioned way to abort a response,
// passes through untouched.
//
// The log names the method, the path and the panic's type and stack, never
// the panic's value unless it is a runtime error (index out of range and the
// like): a handler's own panic value may carry the request's data, and logs
// hold no PII.
func recoverPanics(h http.Handler, logger *zap.Logger) http.Handler {
	if logger == nil {
		logger = zap.NewNop()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &startedWriter{ResponseWriter: w}
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if err, ok := p.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(p)
			}
			logger.Error("handler panicked: request answered 500 (or cut off if its response had begun)",
				zap.String("method", r.Method), zap.String("path", r.URL.Path),
				zap.String("panic", describePanic(p)), zap.Bool("response_begun", sw.started),
				zap.ByteString("stack", debug.Stack()))
			if sw.started {
				panic(http.ErrAbortHandler)
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"error":"internal","code":"internal","message":"the server failed on this request (logged); it was not processed"}` + "\n"))
		}()
		h.ServeHTTP(sw, r)
	})
}

// describePanic is the panic's Go type, with the message of a runtime error
// (which names no data of the request).
func describePanic(p any) string {
	if re, ok := p.(runtime.Error); ok {
		return re.Error()
	}
	return fmt.Sprintf("%T", p)
}

// startedWriter records whether the response has begun (a status or a byte
// went out).
type startedWriter struct {
	http.ResponseWriter
	started bool
}

func (s *startedWriter) WriteHeader(code int) {
	if code >= 200 { // 1xx informational responses do not begin the response
		s.started = true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *startedWriter) Write(b []byte) (int, error) {
	s.started = true
	return s.ResponseWriter.Write(b)
}

// Flush passes flushes through (a flush sends the header).
func (s *startedWriter) Flush() {
	s.started = true
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack passes hijacks through; a hijacked connection is the handler's.
func (s *startedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	s.started = true
	return http.NewResponseController(s.ResponseWriter).Hijack()
}

// Unwrap lets http.ResponseController reach the connection (deadlines).
func (s *startedWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
