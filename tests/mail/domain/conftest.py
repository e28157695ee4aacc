"""Make `jmapd_mail` importable from this checkout even without an editable install."""

import pathlib
import sys

_PLUGINS = str(pathlib.Path(__file__).resolve().parents[3] / "plugins")
if _PLUGINS not in sys.path:
    sys.path.insert(0, _PLUGINS)
