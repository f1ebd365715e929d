"""``threeml verify``: does a published results file match this extract and these definitions?"""

from __future__ import annotations

import json
from pathlib import Path

import click

from threeml.cli.app import cli
from threeml.cli.extract import data_option, load_dataset
from threeml.errors import ThreemlError
from threeml.records.periods import Period


def _period(ctx: click.Context, param: click.Parameter, value: str | None) -> Period | None:
    if value is None:
        return None
    try:
        return Period.parse(value)
    except ThreemlError as error:
        raise click.BadParameter(str(error)) from None


@cli.command()
@click.argument("results", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@data_option
@click.option(
    "--period",
    callback=_period,
    help="Recompute for this period instead of the one the file records "
    "(2013, 2013-Q2, FY2013/14 or START:END).",
)
def verify(results: Path, data: str, period: Period | None) -> None:
    """Check that RESULTS (a count, compare, metric or report results.json) matches an extract.

    Refuses when a definition installed now differs from the one recorded (same name,
    other content hash), naming it; otherwise compares the extract's fingerprint and
    recomputes every figure with the recorded definitions, disclosure policy and period.
    Exits 0 when the file matches, 1 when not, with one line per mismatch.
    """
    import threeml.report.recompute  # noqa: F401  (registers the report's recomputer)
    from threeml.plugins.registry import default_registry
    from threeml.publish.verify import recorded_provenance
    from threeml.publish.verify import verify as check

    try:
        recorded = json.loads(results.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ThreemlError(f"cannot read {results} as JSON: {error}") from None
    if not isinstance(recorded, dict):
        raise ThreemlError(f"{results} is not a threeml results file")
    provenance = recorded_provenance(recorded)
    extract = provenance.extract
    dataset = load_dataset(
        data,
        lenient=bool(provenance.set_aside),
        extract_date=extract.extract_date if extract else None,
    )
    outcome = check(recorded, dataset, default_registry(), period=period)
    for line in outcome.lines():
        click.echo(line)
    if outcome.ok:
        click.echo(
            f"{results} matches {data}: extract, definitions and every figure ({outcome.kind})"
        )
        return
    what = "definitions differ; figures not recomputed" if not outcome.recomputed else "mismatches"
    click.echo(f"{results} does not match {data}: {len(outcome.mismatches)} {what}")
    raise click.exceptions.Exit(1)
