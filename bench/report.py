"""Markdown tables of one `make bench` run: bench/report.py bench/results/<run>.json

Prints the figures with their baselines and ratios (what BENCHMARKS.md quotes)
and writes the same text to bench/results/<run>/table.md."""
import json
import os
import sys


def fmt(v, unit):
    if unit in ("ms", "MB/s"):
        return f"{v:,.1f}"
    return f"{v:,.0f}"


def main():
    path = sys.argv[1]
    with open(path) as f:
        r = json.load(f)
    m = r["machine"]
    lines = [
        f"Run `{r['run_id']}`: {m['nproc']} × {m['cpu_model']}, {m['mem_total_gib']} GiB, kernel {m['kernel']}, "
        f"{m['go_version']}, {m['java_version']}, Kafka {m['kafka_version']}, Redis {m['redis_version']}, kafka-go {m['kafka_go_version']}.",
        "",
        "| figure | value | unit | baseline | baseline value | ratio | load1 / CPU busy before |",
        "|---|---:|---|---|---:|---:|---|",
    ]
    for f in r["figures"]:
        base = f.get("baseline", "")
        bv = fmt(f["baseline_value"], f["unit"]) if f.get("baseline_value") else ""
        ratio = f"{f['ratio']:.3f}" if f.get("ratio") else ""
        n = f["noise"]
        flag = " ⚠ noisy" if n.get("noisy") else ""
        lines.append(f"| `{f['id']}` | {fmt(f['value'], f['unit'])} | {f['unit']} | {('`' + base + '`') if base else ''} | {bv} | {ratio} | {n['load1']:.2f} / {n['cpu_busy_1s_before']:.2f}{flag} |")
    w = r.get("withdrawal")
    if w:
        l = w["latency"]
        lines += ["", f"Withdrawal propagation: n={l['n']}, p50 {l['p50_ms']:.1f} ms, p90 {l['p90_ms']:.1f} ms, p99 {l['p99_ms']:.1f} ms, "
                  f"max {l['max_ms']:.1f} ms; stale ALLOWs {w['stale_allows']}, timeouts {w['timeouts']}."]
    rss = r.get("peak_rss_mib") or {}
    if rss:
        lines += ["", "| process | peak RSS (VmHWM) |", "|---|---:|"]
        lines += [f"| {k} | {v:.1f} MiB |" for k, v in sorted(rss.items())]
    text = "\n".join(lines) + "\n"
    print(text)
    out = os.path.join(os.path.dirname(path), r["run_id"])
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
