package centre

import (
	"encoding/json"
	"errors"
	"io"
)

// jsonStrict reads exactly one JSON value from r into v: unknown fields and
// anything but white space after the value are errors.
func jsonStrict(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}
