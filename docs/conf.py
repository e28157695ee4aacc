"""Sphinx configuration: `sphinx-build docs docs/_build`."""

project = "jmapd"
extensions: list[str] = []
master_doc = "index"
exclude_patterns = ["_build"]
html_theme = "alabaster"
