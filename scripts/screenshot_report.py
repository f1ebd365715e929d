"""Write the report on the demo extract and photograph report.html in headless Chromium.

Usage: python scripts/screenshot_report.py [--data DIR] [--period P] [--out DIR]

Needs Chromium (Debian: apt-get install chromium) and threeml[report]. Writes
the report into --out (default build/report-screenshot) and report.png beside
it; look at the PNG to check the page reads well.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

#: Headless Chromium's switches: no sandbox, GPU, network chatter, first-run page or scrollbars.
HEADLESS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def run_chromium(browser: str, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run headless ``browser`` with ``args`` in a throw-away profile; its output as text.

    Also used by ``tests/test_report_screenshots.py``, which loads this file.
    """
    with tempfile.TemporaryDirectory(
        prefix="threeml-chromium-", ignore_cleanup_errors=True
    ) as profile:
        return subprocess.run(
            [browser, *HEADLESS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="extract folder (default: the synthetic demo extract)")
    parser.add_argument("--period", default="FY2013/14")
    parser.add_argument("--out", default="build/report-screenshot")
    parser.add_argument("--height", type=int, default=4000)
    args = parser.parse_args()
    from threeml.cli import main as threeml
    from threeml.data.demo import demo_extract

    data = args.data or str(demo_extract())
    out = Path(args.out).resolve()
    status = threeml(["report", "--data", data, "--period", args.period, "--out", str(out)])
    if status:
        return status
    browser = next(
        (
            shutil.which(n)
            for n in ("chromium", "chromium-browser", "google-chrome")
            if shutil.which(n)
        ),
        None,
    )
    if browser is None:
        print("no Chromium found; install it (apt-get install chromium)", file=sys.stderr)
        return 1
    png = out / "report.png"
    done = run_chromium(
        browser, f"--screenshot={png}", f"--window-size=1280,{args.height}",
        (out / "report.html").as_uri(), timeout=120,
    )  # fmt: skip
    if done.returncode:
        print(done.stderr[-2000:], file=sys.stderr)
        return done.returncode
    print(f"screenshot: {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
