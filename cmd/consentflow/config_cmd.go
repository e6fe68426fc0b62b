package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/logging"
	"github.com/consentflow/consentflow/pkg/redisconn"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/services/anonymizer"
	consentfilter "github.com/consentflow/consentflow/services/consent-filter"
	datasetsink "github.com/consentflow/consentflow/services/dataset-sink"
	"github.com/consentflow/consentflow/services/producer"
)

// serviceConfigs lists each service binary with its configuration type, in chain
// order; every binary also reads the logging variables.
func serviceConfigs() []struct {
	name string
	cfg  any
} {
	return []struct {
		name string
		cfg  any
	}{
		{"producer", &producer.Config{}},
		{"consent-filter", &consentfilter.Config{}},
		{"anonymizer", &anonymizer.Config{}},
		{"dataset-sink", &datasetsink.Config{}},
		{"every service", &logging.Config{}},
	}
}

// connections are the settings every program shares to reach its
// infrastructure; the reference lists each once, and with each service which of
// them it reads.
func connections() []struct {
	name string
	cfg  any
} {
	return []struct {
		name string
		cfg  any
	}{
		{"Kafka connection", &stream.Config{}},
		{"schema registry connection", &avro.RegistryConfig{}},
		{"Redis connection", &redisconn.Config{}},
	}
}

// configMarkdown renders the configuration reference: the connection settings,
// then every service's own variables.
func configMarkdown() string {
	var b strings.Builder
	table := func(vars []config.Var, skip map[string]string) {
		fmt.Fprintf(&b, "| variable | default | meaning |\n|---|---|---|\n")
		for _, v := range vars {
			if _, ok := skip[v.Name]; ok {
				continue
			}
			def := "`" + v.Default + "`"
			if v.Default == "" {
				def = ""
			}
			if v.Required {
				def = "required"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", v.Name, def, strings.ReplaceAll(v.Help, "|", "\\|"))
		}
	}
	shared := map[string]string{} // variable -> its connection
	for _, c := range connections() {
		for _, v := range config.Vars(c.cfg) {
			shared[v.Name] = c.name
		}
	}
	for _, c := range connections() {
		var users []string
		for _, s := range serviceConfigs() {
			if reads(s.cfg, config.Vars(c.cfg)[0].Name) {
				users = append(users, s.name)
			}
		}
		if c.name == "Kafka connection" {
			users = append(users, "`consentflow topics`")
		}
		fmt.Fprintf(&b, "\n#### %s\n\nRead by %s. Give passwords as `*_PASSWORD_FILE`, a file mounted from a secret.\n\n", c.name, strings.Join(users, ", "))
		table(config.Vars(c.cfg), nil)
	}
	for _, s := range serviceConfigs() {
		fmt.Fprintf(&b, "\n#### %s\n\n", s.name)
		var conns []string
		for _, c := range connections() {
			if reads(s.cfg, config.Vars(c.cfg)[0].Name) {
				conns = append(conns, c.name)
			}
		}
		if n := len(conns); n > 0 {
			list := conns[0]
			if n > 1 {
				list = strings.Join(conns[:n-1], ", ") + " and " + conns[n-1]
			}
			fmt.Fprintf(&b, "Also reads the %s variables (above).\n\n", strings.ReplaceAll(list, " connection", ""))
		}
		table(config.Vars(s.cfg), shared)
	}
	return b.String()
}

// reads reports whether cfg reads variable.
func reads(cfg any, variable string) bool {
	for _, v := range config.Vars(cfg) {
		if v.Name == variable {
			return true
		}
	}
	return false
}

// configCommand prints the configuration reference (the README embeds it).
func configCommand(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	_, err := io.WriteString(stdout, configMarkdown())
	return err
}
