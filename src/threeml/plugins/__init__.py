"""Layer 4, the plugins: the hooks, the table of contribution kinds and the registry built from
them.

Importing this package never imports the engine (ibis, DuckDB): listing plugins and definitions is
cheap.
"""
