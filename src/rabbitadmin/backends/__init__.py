"""Backends: the only code that talks to a server. The engine sees the ``Backend`` protocol alone."""
