"""jmapd: a JMAP server whose capabilities are pluggy plugins."""

import pluggy

__version__ = "0.1.0"

#: Marker for hook implementations, in the core and in every plugin.
hookimpl = pluggy.HookimplMarker("jmapd")
