"""Sphinx configuration for the threeml documentation.

Build with ``python -m sphinx -W --keep-going -b html docs docs/_build/html``.
Nothing here reaches the network: there is deliberately no intersphinx.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Use the source tree when threeml is not installed (it normally is, editable).
_SRC = Path(__file__).resolve().parent.parent / "src"
if str(_SRC) not in sys.path:
    sys.path.insert(0, str(_SRC))

import threeml  # noqa: E402

project = "threeml"
author = "threeml developers"
copyright = "threeml developers"
release = threeml.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "threeml.docs.sphinxext",
]

root_doc = "index"
exclude_patterns = ["_build"]
templates_path: list[str] = []
language = "en"

html_theme = "furo"
html_title = f"threeml {release}"
html_static_path: list[str] = []

# Autodoc: document in source order, show type hints in the signature only.
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"show-inheritance": False}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
