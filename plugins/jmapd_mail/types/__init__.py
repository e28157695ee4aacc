"""The mail data types on the core's standard-method engine."""
