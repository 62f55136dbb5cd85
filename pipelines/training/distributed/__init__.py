"""The MLP across processes with DistributedDataParallel (NCCL on GPUs, gloo on the CPU): the parent that shards
the rows and launches the processes (`trainer`, `launch`), one process's training (`rank`), and each process
fetching its own shard from the Dask workers that hold it (`from_cluster`).

May import: the rest of pipelines.training and what it may import.
"""
