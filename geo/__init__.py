"""Pure spatial functions: coordinates, postcodes, locations typed by users, H3 cells, distances.

Nothing here imports Flask or opens a database session, so every function can be used from the
web app, the loaders, the benchmark and the tests alike.
"""
