"""The run report: a summary (and this run's aggregations) as Markdown."""

from __future__ import annotations

from newsflow.transforms.batch.report import (
    group_failures,
    parse_run_aggs,
    reason_group,
    summary_markdown,
)


def _summary(**over):
    summary = {
        "run_id": "abc123",
        "index": "articles",
        "concrete_index": "articles-v3",
        "discovered": 12,
        "fetched": 9,
        "cleaned": 8,
        "enriched": 8,
        "indexed": 6,
        "unchanged": 2,
        "skipped": 1,
        "failed": 4,
        "seconds": 4.0,
        "task_runner": "dask",
        "transform_batches": 3,
        "transform_cache_hits": 1,
        "failures": [
            {
                "url": "http://127.0.0.1:1/a",
                "stage": "fetch",
                "reason": "connection failed: [Errno 111]",
            },
            {
                "url": "http://127.0.0.1:1/b",
                "stage": "fetch",
                "reason": "connection failed: refused",
            },
            {"url": "http://dead.invalid/c", "stage": "fetch", "reason": "connection failed: DNS"},
            {
                "url": "http://x/empty",
                "stage": "clean",
                "reason": "no extractable article text (3 characters)",
            },
        ],
        "stage_seconds": {"fetch": {"cpu": 0.5, "wall": 1.25}, "enrich": {"cpu": 2.0, "wall": 2.5}},
    }
    return summary | over


def test_reasons_are_grouped_without_their_per_url_detail():
    assert reason_group("no extractable article text (812 characters)") == (
        "no extractable article text"
    )
    assert reason_group("connection failed: [Errno 111] Connection refused") == "connection failed"
    assert reason_group("HTTP 404") == "HTTP 404"
    groups = group_failures(_summary()["failures"])
    assert [(g["stage"], g["reason"], g["count"]) for g in groups] == [
        ("fetch", "connection failed", 3),
        ("clean", "no extractable article text", 1),
    ]
    assert groups[0]["urls"][0] == "http://127.0.0.1:1/a"  # input order kept for examples


def test_markdown_holds_counts_throughput_failures_and_stage_times():
    text = summary_markdown(_summary(), examples=2)
    assert "| 12 | 9 | 8 | 8 | 6 | 2 | 1 | 4 |" in text
    assert "2.00 articles/s" in text  # (6 indexed + 2 unchanged) / 4 s
    assert "3, 1 from the cache" in text
    assert "| enrich | 2.0 | 2.5 |" in text
    row = next(line for line in text.splitlines() if "connection failed" in line)
    assert "| 3 |" in row and "`http://127.0.0.1:1/a`" in row and "and 1 more" in row
    assert "dead.invalid" not in row  # only the first two examples
    assert "## Top new entities" not in text  # no index data given


def test_lost_dask_workers_and_their_rescheduled_batches_are_reported():
    assert "Dask workers lost" not in summary_markdown(_summary(dask_workers_lost=[]))
    text = summary_markdown(
        _summary(dask_workers_lost=["tcp://10.0.0.7:40123"], transform_rescheduled=2)
    )
    line = next(line for line in text.splitlines() if "Dask workers lost" in line)
    assert "`tcp://10.0.0.7:40123`" in line and "2 transform batches" in line


def test_a_run_without_failures_or_time_says_so():
    text = summary_markdown(_summary(failures=[], failed=0, seconds=0))
    assert "## Failures (0)\n\nNone." in text
    assert "No time measured." in text


def test_run_aggregations_become_stories_and_entities():
    response = {
        "hits": {"total": {"value": 7}},
        "aggregations": {
            "stories": {"value": 5},
            "top_stories": {
                "buckets": [
                    {
                        "key": "s" * 40,
                        "doc_count": 3,
                        "example": {"hits": {"hits": [{"_source": {"title": "Port | strike"}}]}},
                    }
                ]
            },
            "person": {"buckets": [{"key": "Ingrid Solberg", "doc_count": 4}]},
            "organization": {"buckets": []},
            "location": {"buckets": [{"key": "Gothenburg", "doc_count": 5}]},
        },
    }
    indexed = parse_run_aggs(response)
    assert indexed["documents"] == 7 and indexed["stories"] == 5
    assert indexed["entities"]["person"] == [("Ingrid Solberg", 4)]
    text = summary_markdown(_summary(), indexed)
    assert "7 articles written by this run, 5 distinct stories." in text
    assert "| 3 | Port \\| strike |" in text  # a pipe in a title does not break the table
    assert "- **person**: Ingrid Solberg (4)" in text
    assert "- **organization**: none" in text
    assert "- **location**: Gothenburg (5)" in text
