// Package bench measures consentflow against real services, next to baselines
// measured in the same run.
package bench
