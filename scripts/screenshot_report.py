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
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--screenshot={png}",
                f"--window-size=1280,{args.height}",
                (out / "report.html").as_uri(),
            ],
            check=True,
            timeout=120,
            capture_output=True,
        )
    print(f"screenshot: {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
