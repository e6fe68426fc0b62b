// Package strictjson reads one JSON value as every consentflow input of
// configuration or API requests should be read: unknown fields are errors and
// so is anything but white space after the value (a body of
// `{"status":"denied"}0`, or of two objects, is not one value).
package strictjson

import (
	"encoding/json"
	"errors"
	"io"
)

// ErrTrailing is returned when data follows the value.
var ErrTrailing = errors.New("unexpected data after the JSON value")

// Decode reads exactly one JSON value from r into v. An empty input is io.EOF,
// as json.Decoder says.
func Decode(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return ErrTrailing
	}
	return nil
}
