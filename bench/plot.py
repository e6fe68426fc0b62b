"""Plots of one `make bench` run: bench/plot.py bench/results/<run>.json

Writes PNGs into bench/results/<run>/ (matplotlib, Agg backend)."""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def fig_by_id(res, i):
    for f in res["figures"]:
        if f["id"] == i:
            return f
    return None


def throughput(res, out):
    pairs = [
        ("ingest.http.batch50", "producer\nHTTP, batch 50"),
        ("ingest.http.batch500", "producer\nHTTP, batch 500"),
        ("filter.drain", "consent-filter"),
        ("anonymizer.drain", "anonymizer"),
        ("sink.drain", "dataset-sink"),
        ("e2e.max.throughput", "end to end\n(max rate)"),
    ]
    labels, vals, bases, ratios = [], [], [], []
    for i, label in pairs:
        f = fig_by_id(res, i)
        if not f:
            continue
        base = fig_by_id(res, f.get("baseline", ""))
        labels.append(label)
        vals.append(f["value"])
        bases.append(base["value"] if base else 0)
        ratios.append(f.get("ratio", 0))
    if not labels:
        return
    fig, ax = plt.subplots(figsize=(10, 4.8))
    x = range(len(labels))
    w = 0.38
    ax.bar([i - w / 2 for i in x], bases, w, label="baseline (kafka-go, same run)", color="#bbbbbb")
    ax.bar([i + w / 2 for i in x], vals, w, label="consentflow", color="#3b6ea5")
    for i, (v, r) in enumerate(zip(vals, ratios)):
        if r:
            ax.text(i + w / 2, v * 1.08, f"×{r:.2f}", ha="center", fontsize=9)
    ax.set_yscale("log")
    ax.set_xticks(list(x))
    ax.set_xticklabels(labels, fontsize=9)
    ax.set_ylabel("events/s (log scale)")
    kp = fig_by_id(res, "kafka.producer_perf")
    kc = fig_by_id(res, "kafka.consumer_perf")
    if kp:
        ax.axhline(kp["value"], color="#d08000", ls="--", lw=1, label=f"kafka-producer-perf-test {kp['value']:.0f}/s")
    if kc:
        ax.axhline(kc["value"], color="#008060", ls=":", lw=1, label=f"kafka-consumer-perf-test {kc['value']:.0f}/s")
    ax.legend(fontsize=8, loc="upper right")
    m = res["machine"]
    ax.set_title(f"Stage throughput vs baseline — {m['nproc']} cores, {m['cpu_model']}, run {res['run_id']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "throughput.png"), dpi=110)
    plt.close(fig)


def cdf_plot(ax, q, label, **kw):
    if not q:
        return
    n = len(q)
    ax.plot(q, [(i + 1) / n for i in range(n)], label=label, **kw)


def latency(res, out):
    e2e = res.get("e2e") or {}
    runs = e2e.get("runs") or {}
    base = e2e.get("baseline") or {}
    if not runs:
        return
    fig, ax = plt.subplots(figsize=(8, 4.5))
    fx = runs.get("fixed")
    if fx:
        cdf_plot(ax, fx["latency_received_to_curated"].get("cdf_ms"), f"received_at → curated, {fx['target_rate']:.0f} ev/s", color="#3b6ea5")
        cdf_plot(ax, fx["latency_raw_append_to_curated_append"].get("cdf_ms"), "raw append → curated append (2 stages)", color="#3b6ea5", ls="--")
    mx = runs.get("max")
    if mx:
        cdf_plot(ax, mx["latency_received_to_curated"].get("cdf_ms"), f"received_at → curated, max rate ({mx['ingest_events_per_s']:.0f} ev/s)", color="#a53b3b")
    bf = (base.get("fixed") or {}).get("latency_hop0_to_hop2")
    if bf:
        cdf_plot(ax, bf.get("cdf_ms"), "baseline: 2 pass-through hops, same rate", color="#888888", ls="--")
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms, log scale)")
    ax.set_ylabel("fraction of events")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("End-to-end latency (CDF)", fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "latency.png"), dpi=110)
    plt.close(fig)

    fig, axs = plt.subplots(1, len(runs), figsize=(5 * len(runs), 3.6), squeeze=False)
    for ax, (name, r) in zip(axs[0], sorted(runs.items(), key=lambda kv: kv[0] != "fixed")):
        lags = r.get("lags") or []
        t = [s["t_s"] for s in lags]
        for key, color in (("filter", "#3b6ea5"), ("anonymizer", "#a53b3b"), ("sink", "#3ba55a")):
            ax.plot(t, [max(0, s[key]) for s in lags], label=key, color=color)
        ax.set_title(f"consumer lag, {name} run", fontsize=10)
        ax.set_xlabel("s")
        ax.set_ylabel("records")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "lag.png"), dpi=110)
    plt.close(fig)


def withdrawal(res, out):
    w = res.get("withdrawal")
    if not w or not w["latency"].get("cdf_ms"):
        return
    q = w["latency"]["cdf_ms"]
    fig, ax = plt.subplots(figsize=(7, 4))
    cdf_plot(ax, q, f"n={w['latency']['n']}, p50 {w['latency']['p50_ms']:.0f} ms, p99 {w['latency']['p99_ms']:.0f} ms", color="#3b6ea5")
    ax.axvline(1000, color="#a53b3b", ls="--", lw=1, label="goal: p99 < 1 s")
    ax.set_xscale("log")
    ax.set_xlabel("PUT denied returned → DENY decision appended (ms, log scale)")
    ax.set_ylabel("fraction of withdrawals")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("Withdrawal propagation (CDF)", fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "withdrawal.png"), dpi=110)
    plt.close(fig)


def rss(res, out):
    r = res.get("peak_rss_mib") or {}
    if not r:
        return
    items = sorted(r.items())
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.barh([k for k, _ in items], [v for _, v in items], color="#3b6ea5")
    for i, (_, v) in enumerate(items):
        ax.text(v + 0.5, i, f"{v:.0f} MiB", va="center", fontsize=8)
    ax.set_xlabel("peak RSS (VmHWM), MiB")
    ax.set_title("Peak resident memory per service process", fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "rss.png"), dpi=110)
    plt.close(fig)


def main():
    path = sys.argv[1]
    with open(path) as f:
        res = json.load(f)
    out = os.path.join(os.path.dirname(path), res["run_id"])
    os.makedirs(out, exist_ok=True)
    throughput(res, out)
    latency(res, out)
    withdrawal(res, out)
    rss(res, out)
    print("plots in", out, "(matplotlib", matplotlib.__version__ + ")")


if __name__ == "__main__":
    main()
