// Package e2e holds the end-to-end acceptance and fault-injection tests: the four
// services as separate processes against real Apache Kafka, Redis and a schema
// registry, driven by the load generator and judged by an independent oracle
// (oracle.py) on what the load generator sent and the services answered.
package e2e
