//go:build !nos3

package lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	icebergio "github.com/apache/iceberg-go/io"

	"github.com/consentflow/consentflow/services/dataset-sink/internal/storage"
)

var registerS3 sync.Once

// RegisterS3 makes s3:// table locations use the sink's S3 storage (the AWS
// SDK it already links, conditional PUTs) rather than gocloud's.
func RegisterS3() {
	registerS3.Do(func() {
		icebergio.Register("s3", func(ctx context.Context, u *url.URL, props map[string]string) (icebergio.IO, error) {
			st, err := storage.NewS3(storage.S3Options{Endpoint: props[propS3Endpoint], Region: props[propS3Region], Bucket: u.Host,
				AccessKey: props[propS3Access], SecretKey: props[propS3Secret], PathStyle: props[propS3PathStyle] == "true",
				StagingDir: props[propS3Staging]})
			if err != nil {
				return nil, err
			}
			return &s3IO{st: st, bucket: u.Host}, nil
		})
	})
}

// s3IO is iceberg-go's file IO over storage.S3 (full s3://bucket/key paths).
type s3IO struct {
	st     *storage.S3
	bucket string
}

func (s *s3IO) key(name string) (string, error) {
	u, err := url.Parse(name)
	if err != nil {
		return "", err
	}
	if u.Scheme != "s3" || u.Host != s.bucket {
		return "", fmt.Errorf("%s is not in s3://%s", name, s.bucket)
	}
	return strings.TrimPrefix(u.Path, "/"), nil
}

func (s *s3IO) Open(name string) (icebergio.File, error) {
	key, err := s.key(name)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	obj, err := s.st.Open(context.Background(), key)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &s3File{Object: obj}, nil
}

func (s *s3IO) ReadFile(name string) ([]byte, error) {
	f, err := s.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

func (s *s3IO) Remove(name string) error {
	key, err := s.key(name)
	if err != nil {
		return &fs.PathError{Op: "remove", Path: name, Err: err}
	}
	return s.st.Delete(context.Background(), key)
}

func (s *s3IO) Create(name string) (icebergio.FileWriter, error) {
	key, err := s.key(name)
	if err != nil {
		return nil, &fs.PathError{Op: "create", Path: name, Err: err}
	}
	f, err := s.st.Stage(context.Background(), key)
	if err != nil {
		return nil, err
	}
	return &s3Writer{File: f, st: s.st, key: key}, nil
}

func (s *s3IO) WriteFile(name string, p []byte) error {
	key, err := s.key(name)
	if err != nil {
		return &fs.PathError{Op: "write", Path: name, Err: err}
	}
	return s.st.Put(context.Background(), key, p)
}

func (s *s3IO) WalkDir(root string, fn fs.WalkDirFunc) error {
	key, err := s.key(root)
	if err != nil {
		return err
	}
	objs, err := s.st.List(context.Background(), strings.TrimSuffix(key, "/")+"/")
	if err != nil {
		return fn(root, nil, err)
	}
	for _, o := range objs {
		k := strings.TrimPrefix(o.Key, s.st.Prefix())
		if err := fn("s3://"+s.bucket+"/"+k, fileEntry{o}, nil); err != nil {
			if errors.Is(err, fs.SkipDir) || errors.Is(err, fs.SkipAll) {
				return nil
			}
			return err
		}
	}
	return nil
}

type s3File struct{ storage.Object }

func (f *s3File) Stat() (fs.FileInfo, error) { return fileEntry{f.Info()}, nil }

func (f *s3File) Read(p []byte) (int, error) { return f.Object.Read(p) }

// s3Writer stages locally and uploads on Close.
type s3Writer struct {
	*os.File
	st  *storage.S3
	key string
}

func (w *s3Writer) Close() error {
	return w.st.Publish(context.Background(), w.File, w.key)
}

type fileEntry struct{ o storage.ObjectInfo }

func (e fileEntry) Name() string               { return e.o.Key[strings.LastIndex(e.o.Key, "/")+1:] }
func (e fileEntry) IsDir() bool                { return false }
func (e fileEntry) Type() fs.FileMode          { return 0 }
func (e fileEntry) Info() (fs.FileInfo, error) { return e, nil }
func (e fileEntry) Size() int64                { return e.o.Size }
func (e fileEntry) Mode() fs.FileMode          { return 0o644 }
func (e fileEntry) ModTime() time.Time         { return e.o.ModTime }
func (e fileEntry) Sys() any                   { return nil }
