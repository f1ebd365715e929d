"""``threeml demo``: the main job on the built-in synthetic demo extract."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from threeml.cli.app import cli
from threeml.cli.compare import print_comparison
from threeml.data import Dataset
from threeml.data.demo import DEMO_SEED, DEMO_USERS, demo_extract
from threeml.engine.compare import compare
from threeml.publish.disclosure import DEFAULT_POLICY
from threeml.records.periods import Period


@cli.command()
@click.option("--period", default="FY2013/14", show_default=True, help="Evaluation period.")
@click.option(
    "--users",
    default=DEMO_USERS,
    show_default=True,
    type=click.IntRange(1),
    help="Size of the synthetic demo extract.",
)
@click.option(
    "--out",
    default=Path("threeml-demo-report"),
    show_default=True,
    type=click.Path(path_type=Path),
    help="Folder for the report (CSV, JSON, HTML, FHIR MeasureReport).",
)
@click.option("--no-report", is_flag=True, help="Only print the comparison; write no files.")
def demo(period: str, users: int, out: Path, no_report: bool) -> None:
    """Run the main job on a synthetic demo extract: validate it, count it under every
    installed definition side by side, and write the full report (open report.html).

    The extract is generated on first use (a second or two) and cached; see
    `threeml synth` to make your own.
    """
    from threeml.plugins.registry import default_registry

    console = Console(highlight=False)
    folder = demo_extract(users=users, seed=DEMO_SEED)
    dataset = Dataset.from_folder(folder)
    rows = ", ".join(f"{name} {n:,}" for name, n in dataset.report.rows.items())
    console.print(
        f"demo extract {folder}\n  validated: {rows}; "
        f"{dataset.report.errors} errors; extract date {dataset.extract_date}"
    )
    registry = default_registry()
    definitions = registry.counting_definitions()
    if not definitions:
        console.print("no counting definitions are installed; see `threeml plugins`")
        return
    comparison = compare(definitions, dataset, Period.parse(period), registry=registry)
    print_comparison(comparison, DEFAULT_POLICY, (), console)
    if not no_report:
        from threeml.report import write_report
        from threeml.report.model import build_report

        report = build_report(dataset, period, registry=registry, by=("area",))
        written = write_report(report, out, DEFAULT_POLICY, title="threeml demo report")
        console.print(
            f"report written ({DEFAULT_POLICY.describe()}): "
            + ", ".join(str(path) for path in written.values())
        )
    click.echo(
        f"next: threeml compare in-receipt ltc-telehealth --diff --data {folder} --period {period}"
    )
