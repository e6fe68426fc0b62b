//go:build !nos3

package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// S3 stores objects in an S3-compatible bucket. Publish and Put are conditional
// creates (If-None-Match: *), so an object is never overwritten.
type S3 struct {
	client  *s3.Client
	bucket  string
	prefix  string
	staging string
}

// NewS3 returns S3 storage.
func NewS3(o S3Options) (*S3, error) {
	if o.Bucket == "" {
		return nil, errors.New("s3 storage: no bucket")
	}
	if o.StagingDir == "" {
		o.StagingDir = os.TempDir()
	}
	if err := os.MkdirAll(o.StagingDir, 0o755); err != nil {
		return nil, fmt.Errorf("create staging dir: %w", err)
	}
	cfg := aws.Config{Region: o.Region}
	if o.AccessKey != "" {
		cfg.Credentials = credentials.NewStaticCredentialsProvider(o.AccessKey, o.SecretKey, "")
	}
	if o.HTTPClient != nil {
		cfg.HTTPClient = o.HTTPClient
	}
	client := s3.NewFromConfig(cfg, func(opts *s3.Options) {
		if o.Endpoint != "" {
			opts.BaseEndpoint = aws.String(o.Endpoint)
		}
		opts.UsePathStyle = o.PathStyle
		opts.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		opts.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	prefix := strings.Trim(o.Prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	return &S3{client: client, bucket: o.Bucket, prefix: prefix, staging: o.StagingDir}, nil
}

// Stage creates a local temporary file.
func (s *S3) Stage(_ context.Context, near string) (*os.File, error) {
	f, err := os.CreateTemp(s.staging, filepath.Base(near)+stagingMarker+"*")
	if err != nil {
		return nil, fmt.Errorf("stage %s: %w", near, err)
	}
	return f, nil
}

// Publish uploads the staged file with If-None-Match: *.
func (s *S3) Publish(ctx context.Context, staged *os.File, key string) error {
	defer s.Discard(staged)
	st, err := staged.Stat()
	if err != nil {
		return fmt.Errorf("stat staged %s: %w", key, err)
	}
	if _, err := staged.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind staged %s: %w", key, err)
	}
	return s.put(ctx, key, staged, st.Size())
}

func (s *S3) put(ctx context.Context, key string, body io.ReadSeeker, size int64) error {
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.bucket), Key: aws.String(s.prefix + key), Body: body,
		ContentLength: aws.Int64(size), IfNoneMatch: aws.String("*"),
	})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && (ae.ErrorCode() == "PreconditionFailed" || ae.ErrorCode() == "ConditionalRequestConflict") {
			return fmt.Errorf("put %s: %w", key, ErrExists)
		}
		var re interface{ HTTPStatusCode() int }
		if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusPreconditionFailed {
			return fmt.Errorf("put %s: %w", key, ErrExists)
		}
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// Discard closes and removes a staged file.
func (s *S3) Discard(staged *os.File) {
	staged.Close()
	os.Remove(staged.Name())
}

// Put uploads data with If-None-Match: *.
func (s *S3) Put(ctx context.Context, key string, data []byte) error {
	return s.put(ctx, key, strings.NewReader(string(data)), int64(len(data)))
}

// Stat heads key.
func (s *S3) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.prefix + key)})
	if err != nil {
		if notFound(err) {
			return ObjectInfo{}, fmt.Errorf("stat %s: %w", key, ErrNotFound)
		}
		return ObjectInfo{}, fmt.Errorf("stat %s: %w", key, err)
	}
	return ObjectInfo{Key: key, Size: aws.ToInt64(out.ContentLength), ModTime: aws.ToTime(out.LastModified)}, nil
}

func notFound(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) && (ae.ErrorCode() == "NotFound" || ae.ErrorCode() == "NoSuchKey") {
		return true
	}
	var re interface{ HTTPStatusCode() int }
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound
}

// Open returns an object read with ranged GETs.
func (s *S3) Open(ctx context.Context, key string) (Object, error) {
	info, err := s.Stat(ctx, key)
	if err != nil {
		return nil, err
	}
	o := &s3Object{ctx: ctx, s: s, info: info}
	o.SectionReader = io.NewSectionReader(o, 0, info.Size)
	return o, nil
}

type s3Object struct {
	*io.SectionReader
	ctx  context.Context
	s    *S3
	info ObjectInfo
}

func (o *s3Object) Info() ObjectInfo { return o.info }
func (o *s3Object) Close() error     { return nil }

// ReadAt reads len(p) bytes at off with one ranged GET.
func (o *s3Object) ReadAt(p []byte, off int64) (int, error) {
	if off >= o.info.Size {
		return 0, io.EOF
	}
	end := off + int64(len(p)) - 1
	if end >= o.info.Size {
		end = o.info.Size - 1
	}
	out, err := o.s.client.GetObject(o.ctx, &s3.GetObjectInput{
		Bucket: aws.String(o.s.bucket), Key: aws.String(o.s.prefix + o.info.Key),
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, end)),
	})
	if err != nil {
		return 0, fmt.Errorf("get %s: %w", o.info.Key, err)
	}
	defer out.Body.Close()
	n, err := io.ReadFull(out.Body, p[:end-off+1])
	if err == nil && n < len(p) {
		err = io.EOF
	}
	return n, err
}

// List lists the keys under prefix.
func (s *S3) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	var out []ObjectInfo
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(s.prefix + prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", prefix, err)
		}
		for _, o := range page.Contents {
			out = append(out, ObjectInfo{Key: strings.TrimPrefix(aws.ToString(o.Key), s.prefix), Size: aws.ToInt64(o.Size), ModTime: aws.ToTime(o.LastModified)})
		}
	}
	return out, nil
}

// Delete deletes key.
func (s *S3) Delete(ctx context.Context, key string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.prefix + key)})
	if err != nil && !notFound(err) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// RemoveStaged deletes the staging files a crash left in the staging directory.
func (s *S3) RemoveStaged(string) error {
	entries, err := os.ReadDir(s.staging)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	for _, e := range entries {
		if !e.IsDir() && strings.Contains(e.Name(), stagingMarker) {
			if err := os.Remove(filepath.Join(s.staging, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// Bucket is the bucket's name and Prefix the key prefix ("" or ending in "/").
func (s *S3) Bucket() string { return s.bucket }

// Prefix is the key prefix.
func (s *S3) Prefix() string { return s.prefix }
