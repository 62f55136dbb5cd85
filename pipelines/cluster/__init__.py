"""Scale-out on Dask: the cluster a run asks for (opened, checked, closed), tables held in numbered partitions on
its workers (cut, renumber, persist, gather), one frame or a dask DataFrame reduced in a tree and mapped alike
(`Frames`), and each worker's peak memory.

May import: pipelines.backend and the basics (config, errors, files, evaluate); dask and distributed.
"""
