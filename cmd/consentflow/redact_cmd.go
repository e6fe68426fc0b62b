package main

import (
	"io"

	"github.com/consentflow/consentflow/pkg/redact/eval"
)

// redactCommand implements `consentflow redact`: JSON lines
// {"text": "...", "actor": {"name", "email", "handle"}} on stdin, one JSON
// line {"text": "<redacted>", "spans": [{"start", "end", "type"}]} per input
// on stdout (offsets in Unicode code points, end exclusive).
func redactCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return eval.RedactMain(args, stdin, stdout, stderr)
}

// redactEvalCommand implements `consentflow redact-eval [--corpus PATH]
// [--json] [--errors N] [--type T]`, scoring the redactor on a
// presidio-research corpus (default ../shared/data/pii/synth_dataset_v2.json).
func redactEvalCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return eval.Main(args, stdout, stderr)
}
