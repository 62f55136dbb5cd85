"""Reading and checking a table: load (Parquet and CSV, their schemas), the partitioned read on Dask workers,
validation, timestamps, the encoded target, the splits (and a seeded row sample), the memory footprint check
before a row is read, and the column profile drift is measured against.

May import: pipelines.cluster, pipelines.backend and the basics (config, errors, files, evaluate).
"""
