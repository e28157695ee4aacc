"""The core's own plugins: registered first, implemented like any other."""
