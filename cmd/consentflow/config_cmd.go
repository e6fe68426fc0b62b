package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/logging"
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

// configMarkdown renders the configuration reference of every service.
func configMarkdown() string {
	var b strings.Builder
	for _, s := range serviceConfigs() {
		fmt.Fprintf(&b, "\n#### %s\n\n| variable | default | meaning |\n|---|---|---|\n", s.name)
		for _, v := range config.Vars(s.cfg) {
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
	return b.String()
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
