// Package config loads a service's configuration from environment variables.
//
// A configuration is a struct whose fields carry `env:"NAME"`, `envDefault:"value"`
// and `help:"what it does"` tags (caarlos0/env parses them); nested structs are
// walked, and a nested struct's `envPrefix:"KAFKA_"` is put in front of its
// variables (one TLS settings type serves KAFKA_TLS_*, REDIS_TLS_*, ...). A struct
// may implement Validator; Load calls it so that a bad value stops the service at
// start with a message naming the variable. Secrets are Secret values: they never
// print.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"text/tabwriter"

	"github.com/caarlos0/env/v11"
)

// Validator is implemented by configurations that check their values after parsing.
type Validator interface {
	Validate() error
}

// ErrHelp is returned by Parse when -h or --help was asked for; usage has been
// printed.
var ErrHelp = flag.ErrHelp

// Load fills cfg (a pointer to a struct) from the environment, then validates it.
func Load(cfg any) error {
	return LoadFrom(cfg, nil)
}

// LoadFrom fills cfg from environ (a map of variables; nil means the process
// environment), then validates it. Every variable NAME may instead be given as
// NAME_FILE, the path of a file holding the value (a Docker or Kubernetes secret);
// one trailing newline is removed.
func LoadFrom(cfg any, environ map[string]string) error {
	if environ == nil {
		environ = env.ToMap(os.Environ())
	}
	resolved, warnings, err := resolveFiles(cfg, environ)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if w, ok := cfg.(Warner); ok {
		for _, msg := range warnings {
			w.Warn(msg)
		}
	}
	if err := env.ParseWithOptions(cfg, env.Options{Environment: resolved}); err != nil {
		return fmt.Errorf("configuration: %w", nameVariables(cfg, err))
	}
	keepEmpty(reflect.ValueOf(cfg), resolved)
	if v, ok := cfg.(Validator); ok {
		if err := v.Validate(); err != nil {
			return fmt.Errorf("configuration: %w", err)
		}
	}
	return nil
}

// Parse handles a service's command line (only -h/--help is accepted: services are
// configured by environment) and then loads cfg. With -h it prints Usage to out and
// returns ErrHelp.
func Parse(name string, args []string, cfg any, out io.Writer) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "%s is configured by environment variables (each may also be given as NAME_FILE, a file holding the value):\n\n", name)
		Usage(out, cfg)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q: %s is configured by environment variables (see -h)", fs.Args(), name)
	}
	return Load(cfg)
}

// Var describes one configuration variable.
type Var struct {
	// Name is the variable, with the prefixes of the structs it is nested in.
	Name     string
	Field    string
	Default  string
	Help     string
	Required bool
}

// Vars lists every variable of cfg (a struct or a pointer to one) in field order.
func Vars(cfg any) []Var {
	var out []Var
	walk(reflect.TypeOf(cfg), "", &out)
	return out
}

func walk(t reflect.Type, prefix string, out *[]Var) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("env")
		if tag == "" || tag == "-" {
			if f.Type.Kind() == reflect.Struct || (f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct) {
				walk(f.Type, prefix+f.Tag.Get("envPrefix"), out)
			}
			continue
		}
		parts := strings.Split(tag, ",")
		v := Var{Name: prefix + parts[0], Field: f.Name, Default: f.Tag.Get("envDefault"),
			Help: strings.ReplaceAll(f.Tag.Get("help"), "${PREFIX}", prefix)}
		for _, p := range parts[1:] {
			if p == "required" || p == "notEmpty" {
				v.Required = true
			}
		}
		*out = append(*out, v)
	}
}

// keepEmpty sets to "" every string field tagged `empty:"disables"` whose
// variable is set but empty. caarlos0/env reads an empty variable as unset and
// applies envDefault, so OPS_ADDR= would listen on the default address instead
// of turning the listener off as its help says.
func keepEmpty(v reflect.Value, environ map[string]string) {
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
		name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		if name == "" || name == "-" {
			if f.IsExported() {
				keepEmpty(fv, environ)
			}
			continue
		}
		if val, set := environ[name]; set && val == "" && f.Tag.Get("empty") == "disables" && fv.Kind() == reflect.String && fv.CanSet() {
			fv.SetString("")
		}
	}
}

// Usage prints every variable of cfg with its default and help text.
func Usage(w io.Writer, cfg any) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tDEFAULT\tDESCRIPTION")
	for _, v := range Vars(cfg) {
		def := v.Default
		if v.Required {
			def = "(required)"
		} else if def == "" {
			def = `""`
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Name, def, v.Help)
	}
	tw.Flush()
}

// Problems collects validation errors so that a configuration reports all of them
// at once.
type Problems struct{ errs []error }

// Addf records a problem with the variable name.
func (p *Problems) Addf(variable, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s: %s", variable, fmt.Sprintf(format, args...)))
}

// Add records err, which already names its variable; nil is ignored.
func (p *Problems) Add(err error) {
	if err != nil {
		p.errs = append(p.errs, err)
	}
}

// Err returns the joined problems, or nil.
func (p *Problems) Err() error { return errors.Join(p.errs...) }

// nameVariables rewrites caarlos0/env's parse errors, which name Go fields, to
// name the environment variables a user sets.
func nameVariables(cfg any, err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return err
	}
	// Nested settings types share field names (the TLS settings of Kafka and of
	// Redis): such a field names every variable it may be.
	byField := map[string]string{}
	for _, v := range Vars(cfg) {
		if n, ok := byField[v.Field]; ok {
			byField[v.Field] = n + " or " + v.Name
		} else {
			byField[v.Field] = v.Name
		}
	}
	var out []error
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) {
			if name, ok := byField[pe.Name]; ok {
				out = append(out, fmt.Errorf("%s: cannot parse as %s: %w", name, pe.Type, pe.Err))
				continue
			}
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// FileSuffix marks a variable whose value is read from the file it names.
const FileSuffix = "_FILE"

// resolveFiles returns environ with every NAME_FILE of cfg's variables read into
// NAME. Setting both is an error, so a secret cannot be silently overridden;
// so is a file group or others may write (CheckSecretFile), and one they may
// read is a warning.
func resolveFiles(cfg any, environ map[string]string) (map[string]string, []string, error) {
	out := make(map[string]string, len(environ))
	for k, v := range environ {
		out[k] = v
	}
	var errs []error
	var warnings []string
	for _, v := range Vars(cfg) {
		path, ok := environ[v.Name+FileSuffix]
		if !ok || path == "" {
			continue
		}
		if _, both := environ[v.Name]; both {
			errs = append(errs, fmt.Errorf("%s: set either %s or %s%s, not both", v.Name, v.Name, v.Name, FileSuffix))
			continue
		}
		warning, err := CheckSecretFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s%s: %w", v.Name, FileSuffix, err))
			continue
		}
		if warning != "" {
			warnings = append(warnings, v.Name+FileSuffix+": "+warning)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s%s: %w", v.Name, FileSuffix, err))
			continue
		}
		out[v.Name] = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	}
	return out, warnings, errors.Join(errs...)
}
