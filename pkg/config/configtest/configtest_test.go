package configtest

import (
	"errors"
	"testing"
)

type depthConfig struct {
	Depth int `env:"DEPTH" envDefault:"1"`
}

func (c *depthConfig) Validate() error {
	if c.Depth < 0 || c.Depth > 8 {
		return errors.New("DEPTH must be 0..8")
	}
	return nil
}

type silentConfig struct {
	Depth int `env:"DEPTH"`
}

func (c *silentConfig) Validate() error {
	if c.Depth > 8 {
		return errors.New("too deep") // names no variable
	}
	return nil
}

func TestValues(t *testing.T) {
	depth := func(c *depthConfig) any { return c.Depth }
	Values(t, map[string]string{"OTHER": "x"}, "DEPTH", depth, map[string]any{"": 1, "0": 0, "8": 8}, "9", "x")

	// Each way a configuration can differ from what is said is reported.
	for _, c := range []struct {
		value string
		ok    bool
		want  any
	}{{"2", true, 3}, {"9", true, 9}, {"4", false, nil}} {
		if err := check(nil, "DEPTH", depth, c.value, c.ok, c.want); err == nil {
			t.Errorf("%+v passed", c)
		}
	}
	if err := check(nil, "DEPTH", func(c *silentConfig) any { return c.Depth }, "9", false, nil); err == nil {
		t.Error("a refusal that does not name the variable passed")
	}
}
