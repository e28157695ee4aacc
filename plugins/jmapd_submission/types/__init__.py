"""The JMAP data types of the submission plugin, one per module."""
