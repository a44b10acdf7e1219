"""The targets of issues 5 and 14, checked against a run, and the markdown table of bench/RESULTS.md."""

from __future__ import annotations


def _sum_cpu(phase: dict) -> float:
    return sum(phase["cpu_ms_per_event"].values())


def _servers(r: dict) -> list[tuple[str, dict, dict]]:
    """(label, raw phases, Tenure phases) of each server the run measured: default, then WAL."""
    out = [("default", r["raw"], r["tenure"])]
    if "wal" in r:
        out.append(("WAL", r["wal"]["raw"], r["wal"]["tenure"]))
    return out


def _row(target: str, values: list[tuple[str, float]], fmt: str, ok) -> dict:
    """One target over one or more servers: met only when every value is."""
    return {
        "target": target,
        "value": " / ".join(f"{fmt.format(v)} ({label})" for label, v in values),
        "met": all(ok(label, v) for label, v in values),
    }


def targets(r: dict) -> list[dict]:
    """The table of issue 14, each row from this run (both servers when the WAL comparison ran)."""
    servers = [(label, raw, t) for label, raw, t in _servers(r) if "http_full" in t]
    out = []
    if servers and all("minimal_http" in raw for _, raw, _ in servers):
        out.append(
            _row(
                "signed webhook → ledger row over HTTP ÷ raw engine through the minimal HTTP endpoint ≥ 0.9×",
                [(lb, t["http_full"]["per_second"] / raw["minimal_http"]["per_second"]) for lb, raw, t in servers],
                "{:.2f}×",
                lambda _, v: v >= 0.9,
            )
        )
    out.append(
        _row(
            "signed webhook → ledger row over HTTP ÷ raw signals/s ≥ 0.8×",
            [(lb, t["http_full"]["per_second"] / raw["per_second"]) for lb, raw, t in servers],
            "{:.2f}×",
            lambda _, v: v >= 0.8,
        )
    )
    out.append(
        _row(
            "through the Python client ÷ raw signals/s ≥ 0.95×",
            [(lb, t["client_full"]["per_second"] / raw["per_second"]) for lb, raw, t in _servers(r)],
            "{:.2f}×",
            lambda _, v: v >= 0.95,
        )
    )
    out.append(
        _row(
            "Tenure's total CPU per event (worker + server + API + sender) ÷ the raw engine's ≤ 1.3×",
            [(lb, _sum_cpu(t["http_full"]) / _sum_cpu(raw)) for lb, raw, t in servers],
            "{:.2f}×",
            lambda _, v: v <= 1.3,
        )
    )
    if servers and all("minimal_http" in raw for _, raw, _ in servers):
        out.append(
            _row(
                "API CPU per signed webhook ÷ the minimal endpoint's ≤ 1.2×",
                [
                    (
                        lb,
                        t["http_full"]["cpu_ms_per_event"]["api"] / raw["minimal_http"]["cpu_ms_per_event"]["api"],
                    )
                    for lb, raw, t in servers
                ],
                "{:.2f}×",
                lambda _, v: v <= 1.2,
            )
        )
    out.append(
        _row(
            "p99 POST → ledger row at half load ≤ 1,000 ms (default) / ≤ 500 ms (WAL)",
            [(lb, t["http_half"]["latency"]["p99"] * 1000) for lb, _, t in servers],
            "{:.0f} ms",
            lambda lb, v: v <= (500 if lb == "WAL" else 1000),
        )
    )
    y = r["year"]
    out.append(
        {
            "target": "history events per incoming event, busy customer-year ≤ 5",
            "value": f"{y['history_events_per_incoming']:.2f}",
            "met": y["history_events_per_incoming"] <= 5,
        }
    )
    m = r["memory"]
    out.append(
        {
            "target": "worker RSS per cached journey ≤ 80 KB",
            "value": f"{m['kb_per_journey']:.0f} KB",
            "met": m["kb_per_journey"] <= 80,
        }
    )
    if "campaign" in r:
        c = r["campaign"]
        ratio = c["per_second"] / c["raw_per_second"]
        out.append(
            {
                "target": f"campaign fan-out: members reached/s ÷ raw signals/s ≥ 0.7× ({c['server']} server)",
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
    else:
        out.append(
            {
                "target": "campaign fan-out ÷ raw signals/s ≥ 0.7×",
                "value": "not measured (BENCH_CAMPAIGN_MEMBERS=0)",
                "met": False,
            }
        )
    out.append(
        {
            "target": "worker RSS bounded with many open journeys (≤ 1.5× the figure at the cache's size)",
            "value": f"{m['rss_at_large_mb']:.0f} MB at {m['samples'][-1]['journeys']:,} vs "
            f"{m['rss_at_small_mb']:.0f} MB at {r['sizes']['memory_small']:,}",
            "met": m["large_over_small"] <= 1.5,
        }
    )
    out.append(
        {
            "target": "no run above 4,096 events",
            "value": f"{y['longest_run']:,} (continue-as-new ×{y['continue_as_new']})",
            "met": y["longest_run"] <= 4096,
        }
    )
    pg = r.get("postgres", {}).get("tenure")
    if pg:
        label = r["postgres"]["server"]
        raw = r["wal"]["raw"] if label == "wal" else r["raw"]
        sqlite = r["wal"]["tenure"] if label == "wal" else r["tenure"]
        ratio = pg["http_full"]["per_second"] / raw["per_second"]
        out.append(
            {
                "target": "ledger on PostgreSQL: HTTP ÷ raw signals/s ≥ 0.8× (as on SQLite)",
                "value": f"{ratio:.2f}× ({label} server; SQLite "
                f"{sqlite['http_full']['per_second'] / raw['per_second']:.2f}×)",
                "met": ratio >= 0.8,
            }
        )
    return out


def _vs_minimal(tenure_phase: dict, raw: dict) -> str:
    if "minimal_http" not in raw:
        return ""
    mh = raw["minimal_http"]
    api = tenure_phase["cpu_ms_per_event"].get("api", 0.0) / mh["cpu_ms_per_event"]["api"]
    return (
        f", **{tenure_phase['per_second'] / mh['per_second']:.2f}×** the minimal endpoint (≥ 0.9), "
        f"API CPU {api:.2f}× its (≤ 1.2)"
    )


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
        f"(CPU ms/signal: {cpu(raw)}; total {_sum_cpu(raw):.1f}) | ceiling |",
    ]
    if "minimal_http" in raw:
        mh = raw["minimal_http"]
        lines.append(
            f"| 1m | raw engine through the minimal HTTP endpoint (HMAC, parse, signal-with-start) | "
            f"**{mh['per_second']:.0f}/s** (CPU ms/event: {cpu(mh)}; total {_sum_cpu(mh):.1f}) | "
            f"{mh['per_second'] / raw['per_second']:.2f}× raw: the HTTP floor |"
        )
    hf, hh, cf = t["http_full"], t["http_half"], t["client_full"]
    lines += [
        f"| 2 | Tenure over HTTP: signed invoice.paid → ledger row, full load | **{hf['per_second']:.0f}/s**; "
        f"p50/p95/p99 {_lat(hf['latency'])} ms (CPU ms/event: {cpu(hf)}; total {_sum_cpu(hf):.1f}) | "
        f"**{hf['per_second'] / raw['per_second']:.2f}×** raw (≥ 0.8){_vs_minimal(hf, raw)}; "
        f"CPU {_sum_cpu(hf) / _sum_cpu(raw):.2f}× raw's (≤ 1.3) |",
        f"| 2 | … at half load ({hh['offered_rate']:.0f}/s offered) | p50/p95/p99 **{_lat(hh['latency'])} ms** | "
        f"p99 ≤ 1,000 ms |",
        f"| 3 | Tenure through the Python client (TenureClient.send) → ledger row | **{cf['per_second']:.0f}/s**; "
        f"p50/p95/p99 {_lat(cf['latency'])} ms (CPU ms/event: {cpu(cf)}) | "
        f"**{cf['per_second'] / raw['per_second']:.2f}×** raw (≥ 0.95) |",
        f"| 4 | worker RSS per cached journey ({s['memory_small']:,} open journeys, cache "
        f"{mem.get('cache', s['memory_small']):,}) | "
        f"**{mem['kb_per_journey']:.0f} KB** ({mem['rss_per_1000_journeys_mb']:.0f} MB per 1,000; "
        f"baseline {mem['baseline_rss_kb'] / 1024:.0f} MB) | ≤ 80 KB |",
        f"| 4 | worker RSS with {mem['samples'][-1]['journeys']:,} open journeys (cache "
        f"{mem.get('cache', s['memory_small']):,}, set explicitly) | **{mem['rss_at_large_mb']:.0f} MB** "
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
    if "end_of_month" in y:
        e = y["end_of_month"]
        lines.append(
            f'| 5r | … with `points.expiry_rounding = "end_of_month"` | **{e["history_events_per_incoming"]:.2f}** '
            f"({e['history_events_per_customer_year']:.0f} events, "
            f"{e['history_bytes_per_customer_year'] / 1024:.0f} KiB per customer-year; longest run "
            f"{e['longest_run']:,}) | ≤ 5 (`exact`: {y['history_events_per_incoming']:.2f}) |"
        )
    if "history_bytes_per_customer_year" in y:
        per = y["tenure_bytes_per_customer_year"]
        hist = y["history_bytes_per_customer_year"]
        stores = " / ".join(f"{db} {b / 1024:.0f} KiB" for db, b in per.items())
        millions = " / ".join(f"{db} {b * 1e6 / 1e9:.0f} GB" for db, b in per.items())
        lines += [
            f"| 7s | storage per busy customer-year | Temporal history **{hist / 1024:.0f} KiB** (events as "
            f"stored, payloads encrypted); Tenure's tables (customers, ledger, emails; indexes included) "
            f"**{stores}** ({y['ledger_rows_per_customer_year']:.0f} ledger rows) | |",
            f"| 7s | one million busy members, one year | Temporal history **{hist * 1e6 / 1e9:.0f} GB**; "
            f"Tenure's tables **{millions}** | |",
        ]
    if "campaign" in r:
        c = r["campaign"]
        lines += [
            f"| 7 | bonus campaign to {c['members']:,} journeys ({c['concurrency']} at once; a worker of its own, "
            f"default cache): members reached/s | "
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
            f"**{wr['per_second']:.0f}/s** (CPU ms/signal: {cpu(wr)}; total {_sum_cpu(wr):.1f}) | "
            f"{wr['per_second'] / raw['per_second']:.2f}× the default server |",
        ]
        if "minimal_http" in wr:
            mh = wr["minimal_http"]
            lines.append(
                f"| 1mw | raw engine through the minimal HTTP endpoint, WAL server | **{mh['per_second']:.0f}/s** "
                f"(CPU ms/event: {cpu(mh)}; total {_sum_cpu(mh):.1f}) | "
                f"{mh['per_second'] / wr['per_second']:.2f}× WAL raw |"
            )
        if "http_full" in wt:
            lines += [
                f"| 2w | Tenure over HTTP, WAL server, full load | "
                f"**{wt['http_full']['per_second']:.0f}/s**; p50/p95/p99 "
                f"{_lat(wt['http_full']['latency'])} ms (CPU ms/event: {cpu(wt['http_full'])}; "
                f"total {_sum_cpu(wt['http_full']):.1f}) | "
                f"**{wt['http_full']['per_second'] / wr['per_second']:.2f}×** WAL raw (≥ 0.8)"
                f"{_vs_minimal(wt['http_full'], wr)}; CPU {_sum_cpu(wt['http_full']) / _sum_cpu(wr):.2f}× raw's |",
                f"| 2w | … at half load ({wt['http_half']['offered_rate']:.0f}/s offered) | p50/p95/p99 "
                f"**{_lat(wt['http_half']['latency'])} ms** | p99 ≤ 500 ms |",
            ]
        lines += [
            f"| 3w | Tenure client, WAL server | **{wt['client_full']['per_second']:.0f}/s**; p50/p95/p99 "
            f"{_lat(wt['client_full']['latency'])} ms (CPU ms/event: {cpu(wt['client_full'])}) | "
            f"**{wt['client_full']['per_second'] / wr['per_second']:.2f}×** WAL raw (≥ 0.95) |",
        ]
    pg = r.get("postgres", {}).get("tenure")
    if pg:
        p = pg["http_full"]
        lines.append(
            f"| 2p | Tenure over HTTP, ledger in PostgreSQL ({r['postgres']['server']} server), full load | "
            f"**{p['per_second']:.0f}/s**; p50/p95/p99 {_lat(p['latency'])} ms (CPU ms/event: {cpu(p)}) | |"
        )
    lines += ["", "| target | value | met |", "|---|---|---|"]
    lines += [f"| {x['target']} | {x['value']} | {'yes' if x['met'] else '**no**'} |" for x in r["targets"]]
    return "\n".join(lines) + "\n"
