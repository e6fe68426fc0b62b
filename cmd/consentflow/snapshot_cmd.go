package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/consentflow/consentflow/services/dataset-sink/client"
)

const snapshotUsage = `usage:
  consentflow snapshot list [--url URL] [--token T] [dataset]
  consentflow snapshot pull <dataset> [id|latest] --out DIR [--url URL] [--token T]

--url defaults to $CONSENTFLOW_DATASETS_URL or http://127.0.0.1:8083;
--token defaults to $CONSENTFLOW_TOKEN. pull verifies every file's sha256 and
resumes interrupted downloads when run again with the same --out.
`

// snapshotCommand runs `consentflow snapshot list|pull`.
func snapshotCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, snapshotUsage)
		if len(args) == 0 {
			return errors.New("snapshot: missing subcommand (list or pull)")
		}
		return nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	fs := flag.NewFlagSet("snapshot "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, snapshotUsage) }
	baseURL := fs.String("url", envOr("CONSENTFLOW_DATASETS_URL", "http://127.0.0.1:8083"), "dataset API URL")
	token := fs.String("token", os.Getenv("CONSENTFLOW_TOKEN"), "bearer token (datasets:read)")
	out := fs.String("out", "", "pull: output directory")
	quiet := fs.Bool("quiet", false, "pull: no progress bar")
	positional, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	c := client.New(*baseURL, *token, nil)
	switch args[0] {
	case "list":
		return snapshotList(ctx, c, positional, stdout)
	case "pull":
		if len(positional) < 1 || len(positional) > 2 {
			fs.Usage()
			return errors.New("snapshot pull: want <dataset> [id|latest]")
		}
		if *out == "" {
			return errors.New("snapshot pull: --out DIR is required")
		}
		id := "latest"
		if len(positional) == 2 {
			id = positional[1]
		}
		var bar *progressbar.ProgressBar
		var progress client.Progress
		if !*quiet {
			bar = progressbar.NewOptions64(-1, progressbar.OptionSetWriter(stderr), progressbar.OptionShowBytes(true),
				progressbar.OptionSetDescription("pulling "+positional[0]), progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionClearOnFinish())
			progress = bar
		}
		res, err := c.Pull(ctx, positional[0], id, *out, progress)
		if bar != nil {
			bar.Finish()
		}
		if err != nil {
			return fmt.Errorf("snapshot pull: %w", err)
		}
		m := res.Manifest
		fmt.Fprintf(stdout, "pulled %s snapshot %s into %s: %d files, %d rows, %d bytes (downloaded %d, reused %d files, resumed %d); checksums verified\n",
			m.Dataset, m.ID, *out, m.Totals.Files, m.Totals.Rows, m.Totals.Bytes, res.Downloaded, res.Reused, res.Resumed)
		return nil
	default:
		fs.Usage()
		return fmt.Errorf("snapshot: unknown subcommand %q (want list or pull)", args[0])
	}
}

// parseInterspersed parses flags that may come before or after positionals.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func snapshotList(ctx context.Context, c *client.Client, positional []string, stdout io.Writer) error {
	datasets := positional
	if len(datasets) == 0 {
		ds, err := c.Datasets(ctx)
		if err != nil {
			return fmt.Errorf("snapshot list: %w", err)
		}
		for _, d := range ds {
			datasets = append(datasets, d.Name)
		}
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DATASET\tSNAPSHOT\tCREATED\tROWS\tFILES\tBYTES\tPOLICY\tERASURES\tSTATUS")
	for _, d := range datasets {
		snaps, err := c.Snapshots(ctx, d)
		if err != nil {
			return fmt.Errorf("snapshot list: %w", err)
		}
		for _, s := range snaps {
			status := "live until " + s.ExpiresAt.Format(time.RFC3339)
			if s.Expired != nil {
				status = "expired (" + s.Expired.Reason + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%d\t%s\n", d, s.ID, s.CreatedAt.Format(time.RFC3339),
				s.Totals.Rows, s.Totals.Files, s.Totals.Bytes, s.PolicyVersion, s.ErasureLedgerPosition, status)
		}
	}
	return tw.Flush()
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
