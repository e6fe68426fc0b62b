package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Environ is the inverse of LoadFrom for settings that were loaded or built in
// code: the variables of cfg (a struct or a pointer to one) that hold a non-zero
// value, formatted so that LoadFrom reads the same value back. The launcher passes
// a stack's connection settings (brokers, TLS files, credentials) to the services
// it starts this way. Secrets are included in clear: the result is an environment,
// never something to log.
func Environ(cfg any) map[string]string {
	out := map[string]string{}
	environ(reflect.ValueOf(cfg), "", out)
	return out
}

func environ(v reflect.Value, prefix string, out map[string]string) {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return
	}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f, fv := t.Field(i), v.Field(i)
		tag := f.Tag.Get("env")
		if tag == "" || tag == "-" {
			environ(fv, prefix+f.Tag.Get("envPrefix"), out)
			continue
		}
		if fv.IsZero() {
			continue
		}
		name := prefix + strings.Split(tag, ",")[0]
		out[name] = format(fv, f.Tag.Get("envSeparator"))
	}
}

func format(v reflect.Value, sep string) string {
	if d, ok := v.Interface().(time.Duration); ok {
		return d.String()
	}
	switch v.Kind() {
	case reflect.String:
		return v.String() // the underlying value, also of a Secret
	case reflect.Slice:
		if sep == "" {
			sep = ","
		}
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = format(v.Index(i), "")
		}
		return strings.Join(parts, sep)
	default:
		return fmt.Sprint(v.Interface())
	}
}
