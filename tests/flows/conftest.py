"""Fixtures of the flows' tests."""

from __future__ import annotations

import pytest

from tests.mlflow_server import start_server
from tests.processes import stop_group


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """A real `mlflow server` for the tests of one module (tests.mlflow_server), stopped after them."""
    process, url = start_server(tmp_path_factory.mktemp("mlflow"))
    try:
        yield url
    finally:
        stop_group(process)
