"""Typed errors for bad input. The CLI prints them without a traceback and exits 2 (or their `exit_code`)."""


class DevicepipeError(Exception):
    """Base of the errors a user can fix: the message says what was expected, what was found, what to do."""


class DataError(DevicepipeError):
    """The data itself is unusable: missing or unreadable file, bad values, empty split."""


class SchemaError(DataError):
    """Columns or types are not what the job needs."""


class ConfigError(DevicepipeError):
    """A setting or argument is invalid."""


class BackendUnavailable(DevicepipeError):
    """The requested compute backend cannot run on this machine."""


class OutputError(DevicepipeError):
    """The output cannot be written: no space left on the device, a read-only folder, a file in the path."""


class ClusterError(DevicepipeError):
    """The Dask cluster failed under the run (a worker lost): not the input's fault, so exit 1, as a message."""

    exit_code = 1
