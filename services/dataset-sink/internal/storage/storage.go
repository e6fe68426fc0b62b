package storage

import (
	"context"
	"errors"
	"io"
	"os"
	"time"
)

// ErrExists is returned by Publish and Put when the key is already taken: dataset
// files and manifests are immutable, so every write is a conditional create.
var ErrExists = errors.New("object already exists")

// ErrNotFound is returned for a missing key.
var ErrNotFound = errors.New("object not found")

// Storage holds dataset objects under slash-separated keys. Writes are atomic and
// exclusive: an object is either absent or complete, and never overwritten.
type Storage interface {
	// Stage returns a local file to write an object to before Publish; near is a
	// key the object will be published close to (local storage stages in the same
	// directory, so publishing is a rename).
	Stage(ctx context.Context, near string) (*os.File, error)
	// Publish makes the staged file visible under key, durably (fsync file and
	// directory, or a conditional PUT). The staged file is closed and removed
	// whatever the outcome; ErrExists if key exists.
	Publish(ctx context.Context, staged *os.File, key string) error
	// Discard closes and removes a staged file that will not be published.
	Discard(staged *os.File)
	// Put writes a small object exclusively (ErrExists if key exists).
	Put(ctx context.Context, key string, data []byte) error
	// Open opens an object for reading.
	Open(ctx context.Context, key string) (Object, error)
	// Stat describes an object.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// List lists every object whose key starts with prefix, staging files excluded.
	List(ctx context.Context, prefix string) ([]ObjectInfo, error)
	// Delete removes an object; deleting a missing one is not an error.
	Delete(ctx context.Context, key string) error
	// RemoveStaged deletes the staging files a crash left behind (under
	// prefix for local storage; the whole staging directory for S3).
	RemoveStaged(prefix string) error
}

// Object is an open stored object.
type Object interface {
	io.ReadSeeker
	io.ReaderAt
	io.Closer
	Info() ObjectInfo
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key     string
	Size    int64
	ModTime time.Time
}
