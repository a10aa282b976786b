"""Fixtures: a loopback HTTP server and a small compiled pipeline with every parameter type."""
# No postponed annotations here: KFP reads the component annotations as types.

import pytest

from tests.submission.submission_loopback import start


@pytest.fixture
def loopback():
    loop = start()
    yield loop
    loop.server.shutdown()
    loop.server.server_close()


def _compile(path, extra_doc=False):
    from kfp import compiler, dsl

    @dsl.component(base_image="ghcr.io/kfp-mlops/kfp-mlops-core:abc123", install_kfp_package=False)
    def echo(text: str, count: int, ratio: float, flag: bool, options: dict, items: list) -> str:
        return f"{text}{count}{ratio}{flag}{options}{items}"

    @dsl.pipeline(name="toy", description="A toy pipeline for submission tests.")
    def toy(data_path: str, epochs: int = 3, ratio: float = 0.5, flag: bool = True,
            options: dict = {}, items: list = []):
        echo(text=data_path, count=epochs, ratio=ratio, flag=flag, options=options, items=items)

    compiler.Compiler().compile(toy, str(path))
    return path


@pytest.fixture(scope="session")
def toy_package(tmp_path_factory):
    """A vertex-style (single document) compiled pipeline named ``toy``."""
    return _compile(tmp_path_factory.mktemp("toy") / "toy.yaml")
