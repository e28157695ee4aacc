"""Sphinx configuration: `sphinx-build docs docs/_build`."""

project = "jmapd"
extensions: list[str] = []
master_doc = "index"
exclude_patterns = ["_build", "_core_api_brief.md"]
html_theme = "alabaster"
