package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// stagingMarker is part of every staged file name, so listings skip them and a
// restart can remove the leftovers of a crash.
const stagingMarker = ".staging-"

// FS stores objects as files under a root directory.
type FS struct{ root string }

// NewFS returns local storage rooted at dir, creating it.
func NewFS(dir string) (*FS, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create dataset root %s: %w", dir, err)
	}
	return &FS{root: dir}, nil
}

func (s *FS) path(key string) (string, error) {
	clean := path.Clean("/" + key)[1:]
	if clean == "" || clean != key {
		return "", fmt.Errorf("invalid key %q", key)
	}
	return filepath.Join(s.root, filepath.FromSlash(clean)), nil
}

// Stage creates a temporary file in near's directory.
func (s *FS) Stage(_ context.Context, near string) (*os.File, error) {
	p, err := s.path(near)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(p)+stagingMarker+"*")
	if err != nil {
		return nil, fmt.Errorf("stage %s: %w", near, err)
	}
	return f, nil
}

// Publish fsyncs the staged file, links it to key (which fails if key exists, so
// the create is exclusive), removes the temporary name and fsyncs the directory.
func (s *FS) Publish(_ context.Context, staged *os.File, key string) error {
	defer s.Discard(staged)
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := staged.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", staged.Name(), err)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(p), err)
	}
	if err := os.Link(staged.Name(), p); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("publish %s: %w", key, ErrExists)
		}
		return fmt.Errorf("publish %s: %w", key, err)
	}
	if err := os.Remove(staged.Name()); err != nil {
		return fmt.Errorf("remove staged %s: %w", staged.Name(), err)
	}
	return syncDir(filepath.Dir(p))
}

// Discard closes and removes a staged file.
func (s *FS) Discard(staged *os.File) {
	staged.Close()
	os.Remove(staged.Name())
}

// Put writes data exclusively via a staged file.
func (s *FS) Put(ctx context.Context, key string, data []byte) error {
	f, err := s.Stage(ctx, key)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		s.Discard(f)
		return fmt.Errorf("write %s: %w", key, err)
	}
	return s.Publish(ctx, f, key)
}

type fsObject struct {
	*os.File
	info ObjectInfo
}

func (o fsObject) Info() ObjectInfo { return o.info }

// Open opens key.
func (s *FS) Open(_ context.Context, key string) (Object, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open %s: %w", key, ErrNotFound)
		}
		return nil, fmt.Errorf("open %s: %w", key, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", key, err)
	}
	return fsObject{f, ObjectInfo{Key: key, Size: st.Size(), ModTime: st.ModTime()}}, nil
}

// Stat describes key.
func (s *FS) Stat(_ context.Context, key string) (ObjectInfo, error) {
	p, err := s.path(key)
	if err != nil {
		return ObjectInfo{}, err
	}
	st, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return ObjectInfo{}, fmt.Errorf("stat %s: %w", key, ErrNotFound)
		}
		return ObjectInfo{}, fmt.Errorf("stat %s: %w", key, err)
	}
	return ObjectInfo{Key: key, Size: st.Size(), ModTime: st.ModTime()}, nil
}

// List walks the files under prefix.
func (s *FS) List(_ context.Context, prefix string) ([]ObjectInfo, error) {
	var out []ObjectInfo
	start := s.root
	if dir := path.Dir(prefix); prefix != "" && dir != "." {
		start = filepath.Join(s.root, filepath.FromSlash(dir))
	}
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || strings.Contains(d.Name(), stagingMarker) {
			return nil
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		out = append(out, ObjectInfo{Key: key, Size: info.Size(), ModTime: info.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	return out, nil
}

// Delete removes key.
func (s *FS) Delete(_ context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// RemoveStaged deletes staging files left behind by a crash under prefix.
func (s *FS) RemoveStaged(prefix string) error {
	start := filepath.Join(s.root, filepath.FromSlash(prefix))
	return filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() && strings.Contains(d.Name(), stagingMarker) {
			return os.Remove(p)
		}
		return nil
	})
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}
