"""Layer 7, the docs: the Sphinx extension that renders the schema, the command line, the criteria,
the hooks and the catalogue from the code itself."""
