"""``newsflow index`` and ``newsflow deadletter``: the versioned indices behind the alias and
the documents the cluster refused."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

import typer

from newsflow.cli.common import client, fail, load_settings, out

index_app = typer.Typer(no_args_is_help=True, help="The versioned indices behind the alias.")
deadletter_app = typer.Typer(no_args_is_help=True, help="Documents the cluster refused.")


@index_app.command("migrate")
def index_migrate(
    drop_old: Annotated[
        bool, typer.Option(help="Delete the previous index after the swap.")
    ] = False,
) -> None:
    """Build the next index version with the current mapping, copy (re-keying documents an
    older URL function keyed), check, swap the alias."""
    from newsflow.store.indices import IndexSetupError, drop_index, migrate

    settings = load_settings()
    es = client(settings)
    try:
        done = migrate(es, settings.index)
        if drop_old:
            drop_index(es, settings.index, done.source)
    except IndexSetupError as exc:
        raise fail(str(exc)) from exc
    kept = "dropped" if drop_old else f"kept (drop it with `newsflow index drop {done.source}`)"
    out.print(
        f"{settings.index}: {done.source} -> {done.target} (mapping version "
        f"{done.mapping_version}), {done.copied} documents in {done.seconds}s "
        f"({done.rekeyed} re-keyed, {done.merged} merged into a later fetch); "
        f"{done.source} {kept}"
    )


@index_app.command("drop")
def index_drop(index: Annotated[str, typer.Argument(help="An old <alias>-v<N> index.")]) -> None:
    """Delete an old index version (never the one behind the alias)."""
    from newsflow.store.indices import IndexSetupError, drop_index

    settings = load_settings()
    try:
        drop_index(client(settings), settings.index, index)
    except IndexSetupError as exc:
        raise fail(str(exc)) from exc
    out.print(f"dropped {index}")


@index_app.command("stats")
def index_stats(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Documents, size, versions, last run, top facet values and dead letters of the alias."""
    from newsflow.store.indices import stats

    settings = load_settings()
    data = stats(client(settings), settings.index)
    if as_json:
        print(json.dumps(data, ensure_ascii=False))
        return
    out.print(
        f"[bold]{data['alias']}[/bold] -> {data['write_index']} (mapping version "
        f"{data['mapping_version']}); versions: {', '.join(data['versions'])}"
    )
    out.print(
        f"{data['documents']} documents, {data['size_bytes'] / 1e6:.1f} MB; "
        f"dead letters: {data['dead_letters']}"
    )
    if data["last_run"]:
        out.print(f"last run {data['last_run']['run_id']} at {data['last_run']['indexed_at']}")
    for name, buckets in data["top"].items():
        if buckets:
            out.print(f"{name}: " + ", ".join(f"{b['value']} ({b['count']})" for b in buckets))


@deadletter_app.command("list")
def deadletter_list(
    size: Annotated[int, typer.Option(min=1, max=1000)] = 20,
) -> None:
    """Show dead-lettered documents with their errors."""
    from newsflow.store.load import list_dead_letters

    settings = load_settings()
    total, letters = list_dead_letters(client(settings), settings.index, size=size)
    if not total:
        out.print("no dead letters")
        return
    out.print(f"{total} dead letters")
    for letter in letters:
        out.print(
            f"  {letter.url} (run {letter.run_id}, {letter.attempts} attempts): {letter.reason}"
        )


@deadletter_app.command("retry")
def deadletter_retry() -> None:
    """Send dead-lettered documents again (after fixing the mapping or the cause)."""
    from newsflow.store.load import count_dead_letters, refresh, retry_dead_letters

    settings = load_settings()
    es = client(settings)
    result = retry_dead_letters(es, settings.index, run_id=f"retry-{uuid.uuid4().hex[:12]}")
    refresh(es, settings.index)
    out.print(
        f"re-sent: {result.indexed} indexed, {len(result.rejected)} rejected again; "
        f"{count_dead_letters(es, settings.index)} dead letters left"
    )
    if result.rejected:
        raise typer.Exit(1)
