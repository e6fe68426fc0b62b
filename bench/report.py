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


def host(n):
    """The host calibration of a figure: CPU µs per unit before → after, the
    larger wall/CPU, and the steal share over the measurement ("" in runs
    before the calibration existed)."""
    cals = [n.get("calibration_before"), n.get("calibration_after")]
    if not any(cals):
        return ""
    us = " → ".join(f"{c['cpu_ns_per_unit'] / 1000:.1f}" if c else "?" for c in cals)
    wall = max(c["wall_per_cpu"] for c in cals if c)
    return f"{us} µs/unit, wall/CPU {wall:.2f}, steal {100 * n.get('steal_share', 0):.1f} %"


def main():
    path = sys.argv[1]
    with open(path) as f:
        r = json.load(f)
    m = r["machine"]
    lines = [
        f"Run `{r['run_id']}`: {m['nproc']} × {m['cpu_model']}, {m['mem_total_gib']} GiB, kernel {m['kernel']}, "
        f"{m['go_version']}, {m['java_version']}, Kafka {m['kafka_version']}, Redis {m['redis_version']}, kafka-go {m['kafka_go_version']}.",
        "",
        "| figure | value | unit | baseline | baseline value | ratio | load1 / CPU busy before | host calibration before → after |",
        "|---|---:|---|---|---:|---:|---|---|",
    ]
    for f in r["figures"]:
        base = f.get("baseline", "")
        bv = fmt(f["baseline_value"], f["unit"]) if f.get("baseline_value") else ""
        ratio = f"{f['ratio']:.3f}" if f.get("ratio") else ""
        n = f["noise"]
        flag = " ⚠ noisy" if n.get("noisy") else ""
        lines.append(f"| `{f['id']}` | {fmt(f['value'], f['unit'])} | {f['unit']} | {('`' + base + '`') if base else ''} | {bv} | {ratio} | {n['load1']:.2f} / {n['cpu_busy_1s_before']:.2f}{flag} | {host(n)} |")
    w = r.get("withdrawal")
    if w:
        l = w["latency"]
        lines += ["", f"Withdrawal propagation: n={l['n']}, p50 {l['p50_ms']:.1f} ms, p90 {l['p90_ms']:.1f} ms, p99 {l['p99_ms']:.1f} ms, "
                  f"max {l['max_ms']:.1f} ms; stale ALLOWs {w['stale_allows']}, timeouts {w['timeouts']}."]
    rss = r.get("peak_rss_mib") or {}
    mem = r.get("peak_mem") or {}
    if rss:
        lines += ["", "| process | peak RSS (VmHWM) | at the highest sample: RSS = anon + file + shmem |", "|---|---:|---|"]
        for k, v in sorted(rss.items()):
            p = mem.get(k)
            parts = (f"{p['vm_rss_mib_at_peak_sample']:.1f} = {p['rss_anon_mib']:.1f} + {p['rss_file_mib']:.1f} + {p['rss_shmem_mib']:.1f} MiB"
                     if p else "")
            lines.append(f"| {k} | {v:.1f} MiB | {parts} |")
    text = "\n".join(lines) + "\n"
    print(text)
    out = os.path.join(os.path.dirname(path), r["run_id"])
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
