"""The HTML report in headless Chromium at 1400 and 420 px wide: nothing overflows its container.

Chromium is not part of the Python environment. The test skips, saying so, when
``/usr/bin/chromium`` (or ``$THREEML_CHROMIUM``) is absent; ``.ci/screenshots`` installs
Debian's ``chromium`` when it is missing and runs this file. Set ``THREEML_SCREENSHOTS`` to a
folder to keep the screenshots (``report-1400.png``, ``report-420.png``) for a look.
"""

from __future__ import annotations

import importlib.util
import os
import re
import struct
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from threeml.data import Dataset
from threeml.data.demo import demo_folder
from threeml.plugins.registry import default_registry
from threeml.publish.disclosure import DEFAULT_POLICY
from threeml.report import build_report, publish
from threeml.report.html import to_html

CHROMIUM = os.environ.get("THREEML_CHROMIUM", "/usr/bin/chromium")
WIDTHS = (1400, 420)

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"{CHROMIUM} is absent: install Debian's chromium (.ci/screenshots does) to check "
    "the HTML report's layout in a browser",
)

#: Measures, once the report has laid out in its frame, how far anything not inside a scrolling
#: box reaches past the right edge of ``main``, and the report's own scroll width.
MEASURE = """<script>
window.addEventListener('load', () => {
  const doc = document.getElementById('report').contentDocument;
  const view = doc.defaultView;
  const main = doc.querySelector('main').getBoundingClientRect();
  let worst = 0, culprit = '';
  for (const el of doc.querySelectorAll('main *')) {
    let p = el.parentElement, clipped = false;
    while (p && p.tagName !== 'MAIN') {
      const o = view.getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden') { clipped = true; break; }
      p = p.parentElement;
    }
    if (clipped) continue;
    const r = el.getBoundingClientRect();
    if (r.right - main.right > worst) {
      worst = r.right - main.right;
      culprit = el.tagName + '.' + (el.getAttribute('class') || '') + '#' + (el.id || '');
    }
  }
  const out = document.createElement('pre');
  out.textContent = 'overflow=' + worst.toFixed(1) + ' culprit=' + culprit + ' scroll=' +
    doc.documentElement.scrollWidth + ' main=' + main.width.toFixed(0);
  document.body.appendChild(out);
});
</script>"""


def framed(report: Path, width: int, measure: bool) -> Path:
    """A page showing ``report`` in a frame ``width`` px wide (headless Chromium's window is
    never narrower than 500 px, so a phone's width is a frame's), measured if asked."""
    from html import escape

    page = report.with_name(f"framed-{width}-{int(measure)}.html")
    page.write_text(
        "<!DOCTYPE html><html><body style='margin:0'>"
        f"<iframe id='report' style='border:0;width:{width}px;height:2000px;display:block' "
        f"srcdoc='{escape(report.read_text(encoding='utf-8'), quote=True)}'></iframe>"
        + (MEASURE if measure else "")
        + "</body></html>",
        encoding="utf-8",
    )
    return page


def _script() -> ModuleType:
    """``scripts/screenshot_report.py``, which runs Chromium for CI and for people alike."""
    path = Path(__file__).resolve().parents[1] / "scripts" / "screenshot_report.py"
    spec = importlib.util.spec_from_file_location("screenshot_report", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _chromium(*args: str) -> subprocess.CompletedProcess:
    return _script().run_chromium(CHROMIUM, *args)


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    registry = default_registry()
    report = build_report(Dataset.from_folder(demo_folder()), "FY2013/14", registry=registry)
    folder = tmp_path_factory.mktemp("report")
    path = folder / "report.html"
    path.write_text(to_html(publish(report, DEFAULT_POLICY)), encoding="utf-8")
    return path


@pytest.mark.parametrize("width", WIDTHS)
def test_nothing_overflows_its_container(report_html: Path, width: int) -> None:
    page = framed(report_html, width, measure=True)
    done = _chromium(
        "--window-size=1500,2000", "--virtual-time-budget=5000", "--dump-dom", page.as_uri()
    )
    found = re.search(r"overflow=([\d.]+) culprit=(\S*) scroll=(\d+) main=(\d+)", done.stdout)
    assert found, done.stderr[-2000:]
    overflow, culprit, scroll, main = found.groups()
    assert float(overflow) <= 1, f"{culprit} reaches {overflow}px past the page at {width}px"
    assert int(scroll) <= width, f"the page scrolls sideways at {width}px ({scroll}px wide)"
    assert int(main) <= width


@pytest.mark.parametrize("width", WIDTHS)
def test_screenshot_at_width(report_html: Path, tmp_path: Path, width: int) -> None:
    keep = os.environ.get("THREEML_SCREENSHOTS")
    folder = Path(keep) if keep else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / f"report-{width}.png"
    page = framed(report_html, width, measure=False)
    done = _chromium(
        f"--window-size={width},2000",
        "--force-device-scale-factor=1",
        f"--screenshot={shot}",
        page.as_uri(),
    )
    assert shot.is_file(), done.stderr[-2000:]
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    (png_width,) = struct.unpack(">I", header[16:20])
    assert png_width == width
