"""The targets of issue 5, checked against a run, and the markdown table of bench/RESULTS.md."""

from __future__ import annotations


def targets(r: dict) -> list[dict]:
    out = []
    raw = r["raw"]["per_second"]
    t = r["tenure"]
    e2e = t["http_full"]["per_second"]
    out.append(
        {
            "target": "Tenure end to end (HTTP) ≥ 0.7 × raw signals/s",
            "value": f"{e2e / raw:.2f}×",
            "met": e2e / raw >= 0.7,
        }
    )
    cl = t["client_full"]["per_second"]
    out.append(
        {
            "target": "Tenure through the client ≥ 0.7 × raw signals/s",
            "value": f"{cl / raw:.2f}×",
            "met": cl / raw >= 0.7,
        }
    )
    p99 = t["http_half"]["latency"]["p99"]
    out.append({"target": "p99 POST→ledger ≤ 1 s at half load", "value": f"{p99 * 1000:.0f} ms", "met": p99 <= 1.0})
    if "wal" in r and "http_full" in r["wal"]["tenure"]:
        w, wr = r["wal"]["tenure"], r["wal"]["raw"]["per_second"]
        out.append(
            {
                "target": "(WAL server) Tenure end to end (HTTP) ≥ 0.7 × raw",
                "value": f"{w['http_full']['per_second'] / wr:.2f}×",
                "met": w["http_full"]["per_second"] / wr >= 0.7,
            }
        )
        out.append(
            {
                "target": "(WAL server) Tenure through the client ≥ 0.7 × raw",
                "value": f"{w['client_full']['per_second'] / wr:.2f}×",
                "met": w["client_full"]["per_second"] / wr >= 0.7,
            }
        )
        p99w = w["http_half"]["latency"]["p99"]
        out.append(
            {
                "target": "(WAL server) p99 POST→ledger ≤ 1 s at half load",
                "value": f"{p99w * 1000:.0f} ms",
                "met": p99w <= 1.0,
            }
        )
    if "campaign" in r:
        c = r["campaign"]
        ratio = c["per_second"] / c["raw_per_second"]
        out.append(
            {
                "target": f"campaign: members reached/s ≥ 0.7 × raw signals/s ({c['server']} server)",
                "value": f"{ratio:.2f}× ({c['per_second']:.0f}/s over {c['members']:,} members)",
                "met": ratio >= 0.7,
            }
        )
        out.append(
            {
                "target": "campaign workflow: no run above 4,096 events",
                "value": f"{c['longest_run']:,} ({c['runs']} runs)",
                "met": c["longest_run"] <= 4096,
            }
        )
    m = r["memory"]
    out.append(
        {
            "target": "≤ 80 KB worker RSS per cached journey",
            "value": f"{m['kb_per_journey']:.0f} KB",
            "met": m["kb_per_journey"] <= 80,
        }
    )
    out.append(
        {
            "target": "RSS bounded with many open journeys",
            "value": f"{m['rss_at_large_mb']:.0f} MB at {m['samples'][-1]['journeys']:,} vs "
            f"{m['rss_at_small_mb']:.0f} MB at {r['sizes']['memory_small']:,}",
            "met": m["large_over_small"] <= 1.5,
        }
    )
    y = r["year"]
    out.append(
        {
            "target": "≤ 5 history events per incoming event",
            "value": f"{y['history_events_per_incoming']:.2f}",
            "met": y["history_events_per_incoming"] <= 5,
        }
    )
    out.append(
        {
            "target": "no run above 4,096 events",
            "value": f"{y['longest_run']:,} (continue-as-new ×{y['continue_as_new']})",
            "met": y["longest_run"] <= 4096,
        }
    )
    return out


def _ms(x: float) -> str:
    return f"{x * 1000:.0f}"


def _lat(d: dict) -> str:
    return f"{_ms(d['p50'])} / {_ms(d['p95'])} / {_ms(d['p99'])}"


def cpu(d: dict) -> str:
    return ", ".join(f"{k} {v:.1f}" for k, v in d["cpu_ms_per_event"].items())


def markdown(r: dict) -> str:
    m = r["machine"]
    s = r["sizes"]
    raw = r["raw"]
    t = r["tenure"]
    mem = r["memory"]
    y = r["year"]
    lines = [
        f"Run {r['started']} on {m['cores']} × {m['cpu']}, {m['memory_mb'] / 1024:.0f} GiB, Python {m['python']}, "
        f"temporalio {m['temporalio']}, {m['temporal_cli'].splitlines()[0] if m['temporal_cli'] else '?'} "
        f"(commit {m['commit']}); {r['total_seconds']:.0f} s in all.",
        f"Sizes: {s['events']:,} events over {s['customers']:,} customers, {s['concurrency']} in flight "
        f"(half load: {s['half_events']:,} events at half the full-load rate).",
        "",
        "| # | measurement | result | ratio / target |",
        "|---|---|---|---|",
        f"| 1 | raw engine: signals/s into counting workflows | **{raw['per_second']:.0f}/s** "
        f"(CPU ms/signal: {cpu(raw)}) | ceiling |",
    ]
    hf, hh, cf = t["http_full"], t["http_half"], t["client_full"]
    lines += [
        f"| 2 | Tenure over HTTP: signed invoice.paid → ledger row, full load | **{hf['per_second']:.0f}/s**; "
        f"p50/p95/p99 {_lat(hf['latency'])} ms (CPU ms/event: {cpu(hf)}) | "
        f"**{hf['per_second'] / raw['per_second']:.2f}×** raw (≥ 0.7) |",
        f"| 2 | … at half load ({hh['offered_rate']:.0f}/s offered) | p50/p95/p99 **{_lat(hh['latency'])} ms** | "
        f"p99 ≤ 1000 ms |",
        f"| 3 | Tenure through the Python client (TenureClient.send) → ledger row | **{cf['per_second']:.0f}/s**; "
        f"p50/p95/p99 {_lat(cf['latency'])} ms (CPU ms/event: {cpu(cf)}) | "
        f"**{cf['per_second'] / raw['per_second']:.2f}×** raw |",
        f"| 4 | worker RSS per cached journey ({s['memory_small']:,} open journeys, default cache) | "
        f"**{mem['kb_per_journey']:.0f} KB** ({mem['rss_per_1000_journeys_mb']:.0f} MB per 1,000; "
        f"baseline {mem['baseline_rss_kb'] / 1024:.0f} MB) | ≤ 80 KB |",
        f"| 4 | worker RSS with {mem['samples'][-1]['journeys']:,} open journeys | **{mem['rss_at_large_mb']:.0f} MB** "
        f"(" + ", ".join(f"{x['journeys']:,}: {x['rss_kb'] / 1024:.0f}" for x in mem["samples"]) + " MB) | "
        f"bounded: {mem['large_over_small']:.2f}× the {s['memory_small']:,} figure |",
        f"| 5 | history events per incoming event, busy customer-year | **{y['history_events_per_incoming']:.2f}** "
        f"({y['history_events_per_customer_year']:.0f} events per customer-year, "
        f"{y['incoming_events_per_customer']} incoming over {y['months']} months) | ≤ 5 |",
        f"| 5 | longest run's history / continue-as-new | **{y['longest_run']:,}** events / "
        f"**{y['continue_as_new']}** | ≤ 4,096 |",
        f"| 6 | simulated customer-years per wall second (time-skipping server) | "
        f"**{y['customer_years_per_second']:.2f}** ({y['customers']} customers × {y['months']} months "
        f"in {y['wall_seconds']:.0f} s) | |",
    ]
    if "campaign" in r:
        c = r["campaign"]
        lines += [
            f"| 7 | bonus campaign to {c['members']:,} journeys ({c['concurrency']} at once): members reached/s | "
            f"**{c['per_second']:.0f}/s** ({c['seconds']:.0f} s; one million would take "
            f"{c['seconds_per_million'] / 3600:.1f} h; CPU ms/member: "
            + ", ".join(f"{k} {v:.1f}" for k, v in c.get("cpu_ms_per_member", {}).items())
            + f") | **{c['per_second'] / c['raw_per_second']:.2f}×** raw on the {c['server']} server (≥ 0.7) |",
            f"| 7 | campaign workflow: longest run / runs; worker RSS during it | **{c['longest_run']:,}** events / "
            f"{c['runs']}; **{c['worker_rss_max_mb']:.0f} MB** (before: {c['worker_rss_before_mb']:.0f} MB) | "
            f"≤ 4,096 |",
        ]
    if "wal" in r:
        w = r["wal"]
        wr, wt = w["raw"], w["tenure"]
        lines += [
            f"| 1w | raw engine, dev server with `--sqlite-pragma` {' '.join(w['pragmas'])} | "
            f"**{wr['per_second']:.0f}/s** (CPU ms/signal: {cpu(wr)}) | "
            f"{wr['per_second'] / raw['per_second']:.2f}× the default server |",
        ]
        if "http_full" in wt:
            lines += [
                f"| 2w | Tenure over HTTP, WAL server, full load | "
                f"**{wt['http_full']['per_second']:.0f}/s**; p50/p95/p99 "
                f"{_lat(wt['http_full']['latency'])} ms (CPU ms/event: {cpu(wt['http_full'])}) | "
                f"**{wt['http_full']['per_second'] / wr['per_second']:.2f}×** WAL raw |",
                f"| 2w | … at half load ({wt['http_half']['offered_rate']:.0f}/s offered) | p50/p95/p99 "
                f"**{_lat(wt['http_half']['latency'])} ms** | p99 ≤ 1000 ms |",
            ]
        lines += [
            f"| 3w | Tenure client, WAL server | **{wt['client_full']['per_second']:.0f}/s**; p50/p95/p99 "
            f"{_lat(wt['client_full']['latency'])} ms (CPU ms/event: {cpu(wt['client_full'])}) | "
            f"**{wt['client_full']['per_second'] / wr['per_second']:.2f}×** WAL raw |",
        ]
    lines += ["", "| target | value | met |", "|---|---|---|"]
    lines += [f"| {x['target']} | {x['value']} | {'yes' if x['met'] else '**no**'} |" for x in r["targets"]]
    return "\n".join(lines) + "\n"
