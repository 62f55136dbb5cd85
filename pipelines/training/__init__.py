"""Training the MLP on device tensors: the handoff (feature columns to torch, zero-copy through DLPack), the batch
loader, the network, the epochs, early stopping, checkpoints and resume, permutation importance, and training
across processes (pipelines.training.distributed). `train.train_mlp` is the one place that chooses one process
or many; the data and settings types they share are in `types`.

May import: pipelines.features, pipelines.data, pipelines.cluster, pipelines.backend and the basics; never a
dataset recipe or a model family.
"""
