"""The BI import pipeline: read -> stage -> validate -> derive clients -> load.

``reader`` turns a file into numbered records; ``postgres`` (COPY into a
staging table, set-based validation and load) and ``portable`` (batched, for
SQLite) do the rest; ``run`` drives one or more jobs through them.
"""
