// Command consentflow is the user-facing CLI: the embedded demo, the load
// generator, the redactor, dataset snapshots and topic administration.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/consentflow/consentflow/pkg/run"
)

// command is one subcommand. It gets its own arguments; ctx is cancelled on
// SIGINT/SIGTERM.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

// plain adapts a subcommand that does not take a context.
func plain(fn func(args []string, stdin io.Reader, stdout, stderr io.Writer) error) func(context.Context, []string, io.Reader, io.Writer, io.Writer) error {
	return func(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
		return fn(args, stdin, stdout, stderr)
	}
}

var commands = map[string]command{
	"demo":         {"run the whole chain embedded (in-process Kafka, Redis, registry) and leave a dataset snapshot", demoCommand},
	"config":       {"print every service's environment variables as Markdown", configCommand},
	"topics":       {"create the chain's topics idempotently (KAFKA_BROKERS, TOPIC_*)", topicsCommand},
	"loadgen":      {"generate realistic product activity and consent traffic against a running chain", plain(loadgenCommand)},
	"redact":       {"redact PII from JSON lines on stdin ({\"text\": ..., \"actor\": {...}})", plain(redactCommand)},
	"redact-eval":  {"score the redactor on a presidio-research corpus", plain(redactEvalCommand)},
	"redact-train": {"train the name/place tagger on generated texts (make redact-model)", plain(redactTrainCommand)},
	"snapshot":     {"list and pull dataset snapshots", plain(snapshotCommand)},
	"curated":      {"read events.curated as a new consumer would: sealed content opened with the data keys in Redis", curatedCommand},
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: consentflow <command> [arguments]   (consentflow <command> -h for its flags)")
	fmt.Fprintln(w)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
}

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func realMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "consentflow: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run.ExitCode(cmd.run(ctx, args[1:], stdin, stdout, stderr), stderr)
}
