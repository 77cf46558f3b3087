"""Small command-line tools for CI and maintenance; not part of the installed package."""
