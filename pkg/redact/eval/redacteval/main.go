// Command redacteval is a standalone form of `consentflow redact-eval`.
package main

import (
	"fmt"
	"os"

	"github.com/consentflow/consentflow/pkg/redact/eval"
)

func main() {
	if err := eval.Main(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
